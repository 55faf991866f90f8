"""Redaction that keeps the request useful: how much of a one-part request reaches the cloud.

Every user of the authors' dev split (their profile, private details, activity logs
and writings in an in-memory store) writes their task as one string, two ways:

- ``general: personal``, the paper's format;
- personal part first, as people write it: ``<personal part>, <general part>.``

Each request is split on the device (``split_request``) and its public part goes
through ``decide()`` as the egress guard sends it. The ``graph`` row runs the request
through the sketch graph (``instruction=...``) against a recording cloud: its words
are counted in the instruction the sketch request carried, its units anywhere in the
bytes that reached the recorder. Figures, per phrasing and variant:

- ``public_words_kept``: share of the request's non-private words (outside every
  private unit) that reach the cloud (goal: at least 90%);
- ``general_words_kept``: the same for the general part, the paper's public part;
- ``personal_words_sent``: share of the personal part's non-private words that reach
  the cloud (what the paper's split keeps local, and a paraphrase may still tell);
- ``private_units_leaked``: private units of the request that reach the cloud (goal 0).

Private units (the labels): the user's name and its parts; the request's names,
numbers and identifiers (``is_rare``) that the user's store holds; and word 4-grams
shared with the user's private details and activity logs (shorter than the
detectors' 5-grams, so a miss would show); none inside the general part, which the
data marks public (the two-part API sends it as the user wrote it).

Variants: ``redact`` (the splitter: the paper's format when the general part is
clean, else only the private spans replaced); ``no colon rule`` (the splitter with
``paper_format=False``: the whole request, only its private spans replaced);
``sentence rule`` (the earlier splitter: clean sentences only). ``--json PATH``
writes the figures; ``--results`` also merges them into ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import DEV_SPLIT
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_cogenesis import prompts
from langchain_cogenesis.data import DatasetUser, load_demo_users
from langchain_cogenesis.data.paper import load_paper_dev
from langchain_cogenesis.errors import CoGenesisError
from langchain_cogenesis.graphs import Components, run_sketch_graph
from langchain_cogenesis.graphs.nodes import private_index
from langchain_cogenesis.privacy import EgressGuard, PrivacyScanner, decide
from langchain_cogenesis.privacy.detectors import Hit, is_rare, merge_spans, normalize, tokens
from langchain_cogenesis.privacy.detectors import rare_tokens as store_rare_tokens
from langchain_cogenesis.privacy.splitter import (
    FALLBACK_PUBLIC,
    _colon_split,
    sentence_spans,
    split_request,
)
from langchain_cogenesis.retrievers import user_context_documents
from tests.cloud_servers import RecordingServer
from tests.leak_harness import MemoryStore

BENCH = Path(__file__).resolve().parent
PHRASINGS = ("general: personal", "personal part first")
EXAMPLES = [
    "Write an invitation to Lila Moss's piano recital at Ostwick Hall on 14 December, "
    "noting I may step out to check my Omnipod.",
    "Write a thank-you note to Dr. Vesterhus for fixing my ACL after the ski accident.",
    "Given her interest in wine and 'Wine Wednesday' tradition, Elaine could prepare a "
    "sophisticated presentation for her book club, prepare a presentation on the cultural "
    "significance of wine.",
]
_WORD = re.compile(r"[^\W_]+(?:[-'.@/][^\W_]+)*")


def phrase(user: DatasetUser, phrasing: str) -> tuple[str, tuple[int, int]]:
    """The one-part request and where its general part is in it."""
    task = user.tasks[0].instruction
    general, personal = task.public_instruction.strip(), task.private_instruction.strip()
    if phrasing == "general: personal":
        return f"{general}: {personal}", (0, len(general))
    head = personal.rstrip(" .") + ", "
    general = general.rstrip(" .?!")
    return f"{head}{general[:1].lower()}{general[1:]}.", (len(head), len(head) + len(general))


def private_units(text: str, general: tuple[int, int], user: DatasetUser) -> list[tuple[int, int]]:
    """The labelled private spans of ``text`` (see the module docs)."""
    context = user.context
    stored = [d.page_content for d in user_context_documents(context)]
    held = set().union(*(store_rare_tokens(t) for t in stored))
    spans: list[Hit] = []
    names = [context.profile.name, *context.profile.name.split()]
    for name in (n for n in names if len(n.strip(".")) >= 3):  # not "Dr."
        spans += [
            Hit(m.start(), m.end(), "name", "")
            for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE)
        ]
    for match in _WORD.finditer(text):
        word = normalize(match.group())
        if is_rare(word, match.group()) and word in held:
            spans.append(Hit(match.start(), match.end(), "rare", ""))
    details = [*context.private_details, *context.activity_logs]
    grams = set().union(*(_grams([w for w, _, _ in tokens(d)], 4) for d in details))
    words = tokens(text)
    for i in range(len(words) - 3):
        if tuple(w for w, _, _ in words[i : i + 4]) in grams:
            spans.append(Hit(words[i][1], words[i + 3][2], "gram", ""))
    # the data marks the general part public: what the user put there is not counted
    return [(a, b) for a, b in merge_spans(spans) if not (general[0] <= a and b <= general[1])]


def _grams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def score(
    text: str, general: tuple[int, int], units: list[tuple[int, int]], outbound: str
) -> dict[str, int]:
    """Counts of public words kept and units leaked for one request."""
    sent = Counter(w for w, _, _ in tokens(outbound))
    sent_sequence = [w for w, _, _ in tokens(outbound)]
    counts = Counter[str]()
    for word, start, end in tokens(text):
        if any(a <= start and end <= b for a, b in units):
            continue
        part = "general" if general[0] <= start and end <= general[1] else "personal"
        counts[f"{part}_words"] += 1
        if sent[word] > 0:
            sent[word] -= 1
            counts[f"{part}_kept"] += 1
    leaked = [
        (a, b) for a, b in units if _contains(sent_sequence, [w for w, _, _ in tokens(text[a:b])])
    ]
    counts["units"] = len(units)
    counts["leaked"] = len(leaked)
    return counts


def sentence_rule(text: str, scanner: PrivacyScanner) -> str:
    """The earlier splitter: the colon's head when clean, else the clean sentences."""
    colon = _colon_split(" ".join(text.split()))
    if colon and not scanner.scan(colon[0]):
        return colon[0]
    clean = [text[a:b] for a, b in sentence_spans(text) if not scanner.scan(text[a:b])]
    return " ".join(clean) or FALLBACK_PUBLIC


def no_colon_rule(text: str, scanner: PrivacyScanner) -> str:
    """The splitter with ``paper_format=False``: the personal part goes out, redacted."""
    return split_request(text, scanner, paper_format=False).instruction.public_instruction


VARIANTS: dict[str, Callable[[str, PrivacyScanner], str]] = {
    "redact": lambda text, scanner: split_request(text, scanner).instruction.public_instruction,
    "no colon rule": no_colon_rule,
    "sentence rule": sentence_rule,
}


def outbound_of(public: str, scanner: PrivacyScanner) -> str:
    """What the egress guard sends of ``public`` (nothing when it refuses)."""
    verdict = decide([("human", public)], scanner)
    return verdict.outbound[0][1] if verdict.sendable else ""


def _row(totals: Counter[str], requests: int, leaking: int) -> dict[str, Any]:
    words = totals["general_words"] + totals["personal_words"]
    kept = totals["general_kept"] + totals["personal_kept"]
    return {
        "requests": requests,
        "public_words": words,
        "public_words_kept": kept / max(words, 1),
        "general_words_kept": totals["general_kept"] / max(totals["general_words"], 1),
        "personal_words_sent": totals["personal_kept"] / max(totals["personal_words"], 1),
        "private_units": totals["units"],
        "private_units_leaked": totals["leaked"],
        "requests_leaking": leaking,
    }


_MARKER = "\x00"


def _sent_instruction(server: RecordingServer) -> str:
    """The public instruction as the sketch request carried it (the template cut off)."""
    if not server.chat_requests:
        return ""
    template = (
        prompts.sketch_prompt("context-aware")
        .format_messages(question=prompts.sketch_question("context-aware", _MARKER))[-1]
        .text
    )
    head, _, tail = template.partition(_MARKER)
    content = str(server.chat_requests[0]["body"]["messages"][-1]["content"])
    return content.removeprefix(head).removesuffix(tail)


def wire_check(user: DatasetUser, text: str, store: MemoryStore) -> tuple[str, str]:
    """The bytes the sketch graph sends for ``text`` through a recording cloud, and the
    public instruction among them."""
    with RecordingServer(reply="1. Opening\n2. Body") as server:
        components = Components(
            store=store,  # type: ignore[arg-type]
            local_model=GenericFakeChatModel(messages=iter([AIMessage("A draft.")] * 4)),
            egress_guard=EgressGuard(base_url=server.base_url, model="fake", max_retries=0),
            k=5,
        )
        request: Any = {"user_id": user.context.user_id, "instruction": text, "mode": "sketch"}
        with contextlib.suppress(CoGenesisError):
            run_sketch_graph(components, request)
        return server.all_bytes().decode("utf-8"), _sent_instruction(server)


def measure(users: list[DatasetUser], wire: bool) -> dict[str, Any]:
    phrasings: dict[str, Any] = {}
    methods: dict[str, Counter[str]] = {p: Counter() for p in PHRASINGS}
    started = time.perf_counter()
    for phrasing in PHRASINGS:
        totals = {v: Counter[str]() for v in (*VARIANTS, "graph")}
        leaking = dict.fromkeys((*VARIANTS, "graph"), 0)
        for user in users:
            store = MemoryStore({user.context.user_id: user_context_documents(user.context)})
            scanner = PrivacyScanner(index=private_index(store, user.context.user_id))  # type: ignore[arg-type]
            text, general = phrase(user, phrasing)
            units = private_units(text, general, user)
            for variant, public_of in VARIANTS.items():
                counts = score(text, general, units, outbound_of(public_of(text, scanner), scanner))
                totals[variant] += counts
                leaking[variant] += bool(counts["leaked"])
            methods[phrasing][split_request(text, scanner).method] += 1
            if wire:
                everything, instruction = wire_check(user, text, store)
                counts = score(text, general, units, instruction)
                # a unit counts as leaked wherever in the request bytes it appears
                counts["leaked"] = score(text, general, units, everything)["leaked"]
                totals["graph"] += counts
                leaking["graph"] += bool(counts["leaked"])
        rows = {v: _row(totals[v], len(users), leaking[v]) for v in totals if totals[v]}
        rows["redact"]["methods"] = dict(methods[phrasing])
        phrasings[phrasing] = rows
    return {"phrasings": phrasings, "seconds": time.perf_counter() - started}


def examples() -> list[dict[str, str]]:
    """The example requests with an empty store: only the detection without prior knowledge."""
    scanner = PrivacyScanner()
    rows = []
    for text in EXAMPLES:
        split = split_request(text, scanner)
        rows.append(
            {
                "request": text,
                "public": outbound_of(split.instruction.public_instruction, scanner),
                "method": split.method,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=0, help="first N users (0: all)")
    parser.add_argument("--no-wire", action="store_true", help="skip the sketch-graph check")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--results", action="store_true", help="merge into bench/results.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as home:
        os.environ.setdefault("COGENESIS_HOME", home)  # the placeholders' install secret
        users = load_paper_dev(DEV_SPLIT) if DEV_SPLIT.exists() else load_demo_users()
        users = users[: args.users] if args.users else users
        figures = {
            "benchmark": "redaction",
            "users": len(users),
            "data": DEV_SPLIT.name if DEV_SPLIT.exists() else "demo users",
            **measure(users, wire=not args.no_wire),
            "examples": examples(),
        }
    print(
        f"one-part requests of {len(users)} users: public words reaching the cloud "
        "(goal >= 90%), general part, personal part, private units leaked"
    )
    for phrasing, variants in figures["phrasings"].items():
        print(f"  {phrasing}:")
        for variant, row in variants.items():
            print(
                f"    {variant:<14} {row['public_words_kept']:6.1%}  "
                f"general {row['general_words_kept']:6.1%}  "
                f"personal {row['personal_words_sent']:6.1%}  "
                f"units leaked {row['private_units_leaked']}/{row['private_units']} "
                f"({row['requests_leaking']} requests)"
            )
    for row in figures["examples"]:
        print(f"  example ({row['method']}): {row['public']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    if args.results:
        path = BENCH / "results.json"
        results = json.loads(path.read_text()) if path.exists() else {"benchmarks": {}}
        results.setdefault("benchmarks", {})["redaction"] = figures
        path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
