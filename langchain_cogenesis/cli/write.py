"""``cogenesis write``: write for a user in one mode, and show what left the device.

:func:`run_writing` runs the sketch graph for ``write`` and ``demo``: it streams the
public and private parts, the sketch and the answer as they come, and resumes a
checkpointed thread where it stopped.

Size: a little over 400 lines, most of them the command's arguments and what it prints.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from langchain_cogenesis.cli.store import open_store
from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import InvalidInstruction, UnknownUser
from langchain_cogenesis.schema import WritingResult, check_length

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from langchain_cogenesis.graphs import WritingInput

RULE = "─" * 72


def generation_options(command: argparse.ArgumentParser, answer_tokens: int) -> None:
    """The options of every command that writes: lengths, retrieval, seed."""
    command.add_argument(
        "--max-tokens", type=int, default=answer_tokens, help="bound on the answer's tokens"
    )
    command.add_argument(
        "--sketch-tokens", type=int, default=200, help="bound on the cloud sketch's tokens"
    )
    command.add_argument("--k", type=int, default=4, help="private chunks to retrieve")
    command.add_argument("--seed", type=int, default=None, help="sampling seed (repeatable runs)")


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``write``."""
    write = commands.add_parser("write", help="write for a user")
    write.add_argument("--user", required=True, help="whose private context to use")
    write.add_argument(
        "--mode",
        choices=["sketch", "fusion", "local", "cloud-public", "cloud-private", "auto"],
        default="sketch",
        help="how the cloud takes part (default sketch; see docs/concepts.md)",
    )
    write.add_argument(
        "--first-k", type=int, default=None, help="fusion: the cloud takes part in k tokens only"
    )
    write.add_argument(
        "--combiner",
        default="mean",
        help="fusion: mean, max, or a trained combiner folder (cogenesis train-combiner)",
    )
    write.add_argument(
        "--draft",
        type=int,
        default=0,
        help="fusion: local proposals scored per cloud request (0: one request per token)",
    )
    write.add_argument(
        "--private",
        help="the private part of the instruction; without it the instruction is split "
        "into public and private parts on this device",
    )
    write.add_argument(
        "--policy",
        choices=["redact", "block", "local_only"],
        default=None,
        help="what to do when a cloud payload carries private context (default: redact)",
    )
    write.add_argument(
        "--kind",
        choices=["context-aware", "email", "paper"],
        default="context-aware",
        help="the paper's task kind (its prompts differ)",
    )
    write.add_argument("--json", action="store_true", help="print the result as JSON")
    write.add_argument(
        "--lora",
        type=Path,
        default=None,
        help="a GGUF LoRA adapter for the local model (cogenesis finetune writes one); "
        "default COGENESIS_LOCAL_LORA",
    )
    write.add_argument(
        "--allow-degraded",
        action="store_true",
        help="when the cloud fails (after retries), write locally alone and exit 0 "
        "(default: the failure is an error, exit 2)",
    )
    write.add_argument(
        "--thread-id",
        default=None,
        help="checkpoint every step under this id; run again with the same id to resume "
        "a run that stopped mid-way (the cloud is not asked again for finished steps)",
    )
    write.add_argument(
        "--html", type=Path, default=None, help="fusion: write a page shading each token by w"
    )
    write.add_argument(
        "--allow-private-egress",
        action="store_true",
        help="required by --mode cloud-private, which sends private context to the cloud",
    )
    write.add_argument(
        "--show-payloads",
        action="store_true",
        help="print every cloud request in full (default: the last lines of each message)",
    )
    write.add_argument(
        "instruction",
        help="the public instruction; '-' reads it from standard input (e.g. `- < file`)",
    )
    generation_options(write, 512)
    write.set_defaults(handler=cmd_write)


def cmd_write(args: argparse.Namespace, settings: Settings) -> int:
    """Write for a user in the chosen mode."""
    instruction = sys.stdin.read() if args.instruction == "-" else args.instruction
    result = run_writing(
        settings,
        user_id=args.user,
        public_instruction=instruction,
        private_instruction=args.private,
        kind=args.kind,
        mode=args.mode,
        answer_tokens=args.max_tokens,
        sketch_tokens=args.sketch_tokens,
        k=args.k,
        seed=args.seed,
        allow_private_egress=args.allow_private_egress,
        stream=not args.json,
        policy=args.policy,
        first_k=args.first_k,
        combiner=_load_combiner(args.combiner),
        draft=args.draft,
        thread_id=args.thread_id,
        degrade=args.allow_degraded,
        lora=args.lora,
    )
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print_payloads(result, full=args.show_payloads)
    if args.html:
        if result.fusion is None:
            print("error: --html needs --mode fusion (no fused tokens to show)", file=sys.stderr)
            return 2
        from langchain_cogenesis.fusion.html import fusion_html

        args.html.write_text(fusion_html(result.fusion["trace"]), encoding="utf-8")
        if not args.json:
            print(f"\nWrote the token view to {args.html}")
    return 0


SHOWN_LINES = 3
"""Lines of each message ``print_payloads`` shows without ``full``: the last ones,
where the instruction sits (the lines before are the paper's fixed prompt)."""


def print_payloads(result: WritingResult, *, full: bool = False) -> None:
    """What each cloud request carried, as sent (the user sees what left); without
    ``full``, each message's last lines only, with the count of those left out."""
    fusion_prompts = (result.fusion or {}).get("cloud_prompts", [])
    total = len(result.cloud_payloads) + len(fusion_prompts)
    print(f"\n{RULE}\nSent to the cloud ({total} request(s)):")
    if fusion_prompts:
        print(
            f"\n{len(fusion_prompts)} completion request(s) for fused decoding, each the public "
            "prompt plus the prefix generated so far; the last one:"
        )
        for line in fusion_prompts[-1].splitlines():
            print(f"    {line}")
    if not total and result.degraded:
        print(
            "  no request was answered: the ones sent failed (each attempt is a row of the "
            f"audit log: `cogenesis audit --user {result.user_id}`)."
        )
    elif not total:
        print("  nothing: this answer was written on the device only.")
    for number, payload in enumerate(result.cloud_payloads, 1):
        print(f"\n[{number}] {payload.purpose} → {payload.destination} (model {payload.model})")
        for message in payload.messages:
            lines = message["content"].splitlines()
            hidden = 0 if full else max(0, len(lines) - SHOWN_LINES)
            print(f"  <{message['role']}>")
            if hidden:
                print(f"    … {hidden} earlier line(s) (--show-payloads prints them)")
            for line in lines[hidden:]:
                print(f"    {line}")


def run_writing(
    settings: Settings,
    *,
    user_id: str,
    public_instruction: str,
    private_instruction: str | None,
    kind: str,
    mode: str,
    answer_tokens: int,
    sketch_tokens: int,
    k: int,
    seed: int | None,
    allow_private_egress: bool,
    stream: bool,
    policy: str | None = None,
    first_k: int | None = None,
    combiner: Any = None,
    draft: int = 0,
    thread_id: str | None = None,
    degrade: bool = False,
    lora: Path | None = None,
) -> WritingResult:
    """Run the sketch graph; ``private_instruction=None`` splits the instruction locally.

    With ``thread_id`` every step is checkpointed to ``$COGENESIS_HOME/threads.sqlite3``;
    a thread that stopped mid-way (a crash, Ctrl-C) resumes where it stopped, and a
    finished one prints its stored result.
    """
    from langchain_cogenesis.graphs import (
        Components,
        build_auto_graph,
        build_sketch_graph,
        result_from_state,
        resume_sketch_graph,
        run_sketch_graph,
        stream_sketch_graph,
    )
    from langchain_cogenesis.graphs.checkpointers import sqlite_checkpointer
    from langchain_cogenesis.graphs.messages import instruction_of
    from langchain_cogenesis.models import ChatLocalLlama, cloud_endpoint
    from langchain_cogenesis.privacy import EgressGuard

    store = open_store(settings)
    local_model = ChatLocalLlama(
        model_path=settings.local_model_path,
        lora_path=lora or settings.local_lora_path,
        max_tokens=answer_tokens,
        seed=seed,
    )
    parts_given: dict[str, str] = (
        {"instruction": public_instruction}
        if private_instruction is None
        else {"public_instruction": public_instruction, "private_instruction": private_instruction}
    )
    request: WritingInput | None = cast(
        "WritingInput", {"user_id": user_id, "kind": kind, "mode": mode, **parts_given}
    )
    graph: CompiledStateGraph[Any, Components, Any, Any] = (
        build_auto_graph if mode == "auto" else build_sketch_graph
    )(
        checkpointer=sqlite_checkpointer(settings.home / "threads.sqlite3")
        if thread_id
        else "memory"
    )
    config: Any = {"configurable": {"thread_id": thread_id or uuid.uuid4().hex}}
    if thread_id:
        snapshot = graph.get_state(config)
        if snapshot.values and not snapshot.next:
            if stream:
                print(f"Thread {thread_id} has finished; its stored answer:\n")
                print(snapshot.values.get("answer", ""))
            return result_from_state(snapshot.values)
        if snapshot.next:
            if stream:
                print(f"Resuming thread {thread_id} at: {', '.join(snapshot.next)}\n")
            request = None  # continue from the checkpoint; finished steps do not run again
            mode = snapshot.values["mode"]
            user_id = snapshot.values["user_id"]

    def execute(guard: EgressGuard | None) -> WritingResult:
        components = Components(
            store=store,
            local_model=local_model,
            egress_guard=guard,
            k=k,
            sketch_max_tokens=sketch_tokens,
            answer_max_tokens=answer_tokens,
            allow_private_egress=allow_private_egress,
            policy=cast("Any", policy),
            first_k=first_k,
            fusion_max_tokens=answer_tokens,
            fusion_draft=draft,
            degrade_on_cloud_error=degrade,
            local_scorer=_lora_scorer(settings, lora) if lora and mode == "fusion" else None,
            combiner=combiner,
        )
        if not stream:
            if request is None:  # a thread that stopped mid-way
                return resume_sketch_graph(
                    components, config["configurable"]["thread_id"], graph=graph
                )
            return run_sketch_graph(components, request, graph=graph, config=config)
        return stream_run(components)

    def stream_run(components: Components) -> WritingResult:
        progress = _Progress()
        fused_shown, route = False, mode
        for stream_mode, event in stream_sketch_graph(
            components, request, graph=graph, config=config, stream_mode=STREAM_MODES
        ):
            if stream_mode == "updates" and "prepare" in event:
                prepared = event["prepare"]
                print(
                    f"Public instruction (may go to the cloud):\n  {prepared['public_instruction']}"
                )
                if prepared["private_instruction"]:
                    print(
                        "Private instruction (stays on this device):\n  "
                        + prepared["private_instruction"]
                    )
                if mode == "sketch":  # asked for at once, while the store is searched
                    progress.after_retrieve("sketch")
            elif stream_mode == "updates" and "classify" in event:  # mode auto
                route = event["classify"]["route"]
                print(f"Route: {route} ({event['classify']['route_reason']})")
            elif stream_mode == "updates" and "retrieve" in event:
                progress.after_retrieve(route)
            elif stream_mode == "updates" and "sketch" in event and not event["sketch"]["sketch"]:
                print(f"\n{RULE}\nPersonalized answer (local model, no sketch):")
                progress.reading()
            elif stream_mode == "updates" and "sketch" in event:
                print(
                    f"\n{RULE}\nSketch from the cloud{progress.waited()}:\n"
                    f"{event['sketch']['sketch']}"
                )
                print(f"\n{RULE}\nPersonalized answer (local model):")
                progress.reading()
            elif stream_mode == "custom" and isinstance(event, dict) and "fused_token" in event:
                if not fused_shown:
                    print(f"\n{RULE}\nFused answer, as it is decoded{progress.waited()}:")
                    fused_shown = True
                print(event["fused_token"], end="", flush=True)
            elif stream_mode == "messages":
                chunk, metadata = event
                if metadata.get("langgraph_node") == "write" and chunk.content:
                    progress.first_token()
                    print(chunk.content, end="", flush=True)
        state = graph.get_state(config).values
        result = result_from_state(state)
        if result.fusion is not None:
            stopped = result.fusion["cloud_stopped_at"]
            note = f"; the cloud stopped at token {stopped}" if stopped is not None else ""
            print(
                f"\n{RULE}\nFused answer (local model + cloud next-token distributions, "
                f"{result.fusion['cloud_tokens']} token(s) with the cloud{note}):\n{result.answer}"
            )
        if result.cloud_skipped:
            print(f"\n{RULE}\nThe cloud was not used: {result.cloud_skipped}")
        if result.degraded:
            print(f"\n{RULE}\nDegraded: {result.degraded_reason}")
        if (mode.startswith("cloud") or result.route == "cloud") and not result.cloud_skipped:
            print(f"\n{RULE}\nAnswer (cloud model):\n{result.answer}")
        print()
        return result

    # Refuse bad requests before a stand-in is started for them.
    check_length(public_instruction)
    check_length(private_instruction or "", "private instruction")
    if request is None:
        pass  # a resumed thread was validated when it started
    elif private_instruction is not None:
        instruction_of(request)
    elif not public_instruction.strip():
        raise InvalidInstruction("Invalid instruction: the instruction is empty.")
    if mode != "cloud-public" and not store.has_user(user_id):
        raise UnknownUser(user_id)
    if mode == "local":
        return execute(None)
    fusion = mode == "fusion"
    with cloud_endpoint(settings, n_ctx=1024 if fusion else 4096, logits_all=fusion) as (
        base_url,
        model,
        is_standin,
    ):
        if stream and is_standin:
            print(f"Started the stand-in cloud model at {base_url}\n")
        guard = EgressGuard(base_url=base_url, model=model, send_max_tokens=is_standin)
        return execute(guard)


STREAM_MODES = ("updates", "messages", "custom")
"""What the CLI follows: each step's update, the local model's tokens, fused tokens."""


class _Progress:
    """Says what the run waits for, on stderr, and how long it took: the cloud's sketch,
    then the local model reading its prompt until the first token."""

    def __init__(self) -> None:
        self._since = time.perf_counter()
        self._waiting = self._reading = False

    def _say(self, text: str) -> None:
        print(f"... {text}", file=sys.stderr, flush=True)
        self._since = time.perf_counter()

    def after_retrieve(self, route: str) -> None:
        if route in ("sketch", "fusion"):
            if self._waiting:
                return  # said already: the sketch was asked for before the store answered
            self._waiting = True
            what = "the cloud's sketch" if route == "sketch" else "the first fused token"
            self._say(f"waiting for {what} (only the public instruction left this device)")
        elif route == "local":
            print(f"\n{RULE}\nPersonalized answer (local model):")
            self.reading()

    def waited(self) -> str:
        return f" (after {time.perf_counter() - self._since:.1f} s)"

    def reading(self) -> None:
        self._say("the local model is reading its prompt")
        self._reading = True

    def first_token(self) -> None:
        if self._reading:
            self._reading = False
            print(
                f"... first token after {time.perf_counter() - self._since:.1f} s",
                file=sys.stderr,
                flush=True,
            )


def _lora_scorer(settings: Settings, lora: Path) -> Any:
    """The local model with ``lora`` as a token scorer (fusion)."""
    from langchain_cogenesis.fusion import LlamaCppScorer
    from langchain_cogenesis.models import bundled_model_path

    path = settings.local_model_path or bundled_model_path(settings.model_cache)
    return LlamaCppScorer(path, name="local", lora_path=lora)


def _load_combiner(spec: str) -> Any:
    from langchain_cogenesis.fusion.combiners import load_combiner

    try:
        return load_combiner(spec)
    except (ValueError, OSError) as error:
        raise SystemExit(f"error: --combiner: {error}") from None
