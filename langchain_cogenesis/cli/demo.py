"""``cogenesis demo``: store the fictional demo users and write for one of them."""

from __future__ import annotations

import argparse
import sys

from langchain_cogenesis.cli.store import open_store
from langchain_cogenesis.cli.write import RULE, generation_options, print_payloads, run_writing
from langchain_cogenesis.config import Settings


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``demo``."""
    demo = commands.add_parser("demo", help="run sketch-based CoGenesis for a demo user")
    demo.add_argument("--user", default="maya-okafor", help="the demo user to write for")
    demo.add_argument("--task", type=int, default=0, help="which of the user's demo tasks")
    generation_options(demo, 320)
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Store the demo users, start the stand-in, run the sketch graph, show egress."""
    from langchain_cogenesis.data import load_demo_users

    users = load_demo_users()
    by_id = {user.context.user_id: user for user in users}
    if args.user not in by_id:
        print(f"error: no demo user {args.user!r}; choose from {', '.join(by_id)}", file=sys.stderr)
        return 2
    store = open_store(settings)
    print(f"Private store: {store.location}")
    for user in users:
        chunks = store.add_user_context(user.context)
        print(f"  stored {chunks} private chunks for {user.context.user_id}")
    user = by_id[args.user]
    task = user.tasks[args.task % len(user.tasks)].instruction
    settings = demo_models(settings)
    print(f"\nUser: {user.context.profile.name} ({user.context.user_id})\n")
    result = run_writing(
        settings,
        user_id=args.user,
        public_instruction=task.public_instruction,
        private_instruction=task.private_instruction,
        kind=task.kind,
        mode="sketch",
        answer_tokens=args.max_tokens,
        sketch_tokens=args.sketch_tokens,
        k=args.k,
        seed=args.seed,
        allow_private_egress=False,
        stream=True,
    )
    sketch = result.sketch.text if result.sketch else ""
    print_drawn_on(result.answer, result.context_used, [task.public_instruction, sketch])
    print_payloads(result)
    timings = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in result.timings.items())
    print(f"\n{RULE}\nTimings: {timings}")
    return 0


def demo_models(settings: Settings) -> Settings:
    """The demo's writer and stand-in cloud: SmolLM2-135M-Instruct when the smollm2
    extra is installed and no model is named. Chosen by measurement on 20 tasks of the
    authors' dev split (``bench/writer.py``): 1 of its 40 answers echoed its prompt
    against 11 of Gemma 3 270M's, it drew on the private context in 30% of its
    sketch-based answers (Gemma 20%), ROUGE-L 13.5 and 13.0 (Gemma 12.8 and 11.7), and
    it speaks a chat template (Gemma 3 270M is a base model). Fusion keeps Gemma."""
    if settings.local_model_path or settings.standin_model_path:
        return settings
    from langchain_cogenesis.errors import LocalModelError
    from langchain_cogenesis.models.loader import smollm2_model_path

    try:
        path = smollm2_model_path()
    except LocalModelError:
        print("(SmolLM2 is not installed: the demo writes with Gemma 3 270M, a base model.)")
        return settings
    print(f"Writer and stand-in cloud: {path.name} (COGENESIS_LOCAL_MODEL names another)")
    return settings.model_copy(update={"local_model_path": path, "standin_model_path": path})


def drawn_on(answer: str, chunks: list[str], public: list[str]) -> list[tuple[str, list[str]]]:
    """The private chunks the answer took words from: each chunk with its words (names,
    numbers, longer words) that the answer repeats and no public text holds."""
    from langchain_cogenesis.privacy.detection.spans import common_words, tokens

    said = {word for word, _, _ in tokens(answer)}
    known = {word for text in public if text for word, _, _ in tokens(text)}
    common = common_words()
    found = []
    for chunk in chunks:
        words: dict[str, str] = {}
        for word, start, end in tokens(chunk):
            distinctive = len(word) >= 4 or word[:1].isdigit()
            if distinctive and word in said and word not in known and word not in common:
                words.setdefault(word, chunk[start:end])
        if words:
            found.append((chunk, list(words.values())))
    return found


def print_drawn_on(answer: str, chunks: list[str], public: list[str]) -> None:
    """Which private facts the answer used, shown on this device only."""
    found = drawn_on(answer, chunks, public)
    print(f"\n{RULE}\nPrivate facts the answer drew on (shown here, never sent):")
    if not found:
        print("  none that the answer repeats word for word.")
    for chunk, words in found[:5]:
        line = chunk.splitlines()[0] if chunk.strip() else chunk
        print(f"  - {line[:90]}{'…' if len(line) > 90 else ''}")
        print(f"      ({', '.join(words[:6])})")
