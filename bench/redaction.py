"""Redaction that keeps the request useful: how much of a request reaches the cloud.

Every user of the authors' dev split (their profile, private details, activity logs
and writings in an in-memory store with the local embeddings) writes their task
three ways:

- ``private given apart``: the two-part API (``--private``): the general part is the
  public instruction, the personal part the private one;
- ``general: personal``, the paper's format, as one string;
- ``personal part first``, as people write it: ``<personal part>, <general part>.``

A one-part request is split on the device (``split_request``, with the scanner the
graph builds for a stored user: the store's detectors and its facts in other words,
:mod:`~langchain_cogenesis.privacy.detection.paraphrase`) and its public part goes through
``decide()`` as the egress guard sends it. The ``graph`` row runs the request through
the sketch graph against a recording cloud: its words are counted in the instruction
the sketch request carried, its units anywhere in the bytes that reached the recorder
(store-held facts: in that instruction). Figures, per phrasing and variant:

- ``public_words_kept``: share of the request's non-private words (outside every
  private unit) that reach the cloud (goal for one-part requests: at least 90%);
- ``general_words_kept``: the same for the general part, the paper's public part;
- ``personal_words_sent``: share of the personal part's non-private words that reach
  the cloud (what the paper's split keeps local);
- ``private_units_leaked``: private units of the request that reach the cloud (goal 0);
- ``store_held_leaked``: clauses of the personal part that restate a stored private
  item and reach the cloud (goal: personal part first no more than the paper's format).

Private units (the labels): the user's name and its parts; the request's names,
numbers and identifiers (``is_rare``) that the user's store holds; and word 4-grams
shared with the user's private details and activity logs (shorter than the
detectors' 5-grams, so a miss would show); none inside the general part, which the
data marks public (the two-part API sends it as the user wrote it).

Store-held facts (labels independent of the embeddings): a clause of the personal
part (:func:`~langchain_cogenesis.privacy.detection.paraphrase.clause_spans`) that shares two
content words or more with one private detail or activity log (crudely stemmed; stop
words, instruction words such as "write" or "guide", and the words of the general
part, which goes out anyway, left out). It leaks when two of those shared words, and
half of them, reach the cloud where the clause stood (the request and what was sent
aligned word by word); its words are private, not counted as public ones.

``matcher_latency``: what the matcher adds to splitting and deciding one request
(p50, p95), and the one-time embedding of a user's items. On a shared 2-core
machine torch's two threads wait on each other when other processes run:
``torch.set_num_threads(1)`` there makes each call tens of milliseconds again.

Variants: ``redact`` (the splitter: the paper's format when the general part is
clean, else only the private spans replaced); ``without matcher`` (the same without
the stored-fact matcher: words only, as before it); ``no colon rule`` (the splitter
with ``paper_format=False``); ``sentence rule`` (the earlier splitter: clean
sentences only). ``--sweep`` prints the matcher's threshold sweep (clauses, then the
``redact`` rows per threshold). ``--json PATH`` writes the figures; ``--results``
also merges them into ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import DEV_SPLIT
from _redaction_cases import (
    PHRASINGS,
    SWEEP,
    TWO_PART,
    EmbeddingStore,
    clause_sweep,
    documents_of,
    figure_line,
    figure_row,
    outbound_of,
    phrase,
    print_sweep,
    private_units,
    redact_request,
    request_sweep,
    scanner_of,
    score,
    store_held_units,
)
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_cogenesis import prompts
from langchain_cogenesis.data import DatasetUser, load_demo_users
from langchain_cogenesis.data.paper import load_paper_dev
from langchain_cogenesis.errors import CoGenesisError
from langchain_cogenesis.graphs import Components, run_sketch_graph
from langchain_cogenesis.graphs.scanners import stored_item_matcher
from langchain_cogenesis.privacy import EgressGuard, PrivacyScanner
from langchain_cogenesis.privacy.detection.paraphrase import StoredItemMatcher
from langchain_cogenesis.privacy.detection.splitter import (
    FALLBACK_PUBLIC,
    _colon_split,
    sentence_spans,
    split_request,
)
from tests.cloud_servers import RecordingServer

BENCH = Path(__file__).resolve().parent
EXAMPLES = [
    "Write an invitation to Lila Moss's piano recital at Ostwick Hall on 14 December, "
    "noting I may step out to check my Omnipod.",
    "Write a thank-you note to Dr. Vesterhus for fixing my ACL after the ski accident.",
    "Given her interest in wine and 'Wine Wednesday' tradition, Elaine could prepare a "
    "sophisticated presentation for her book club, prepare a presentation on the cultural "
    "significance of wine.",
]


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


def without_matcher(scanner: PrivacyScanner) -> PrivacyScanner:
    """``scanner`` without the stored-fact matcher: the words-only detectors of before."""
    words_only = PrivacyScanner(detect_entities=False, trusted_texts=scanner.trusted_texts)
    words_only.detectors = [d for d in scanner.detectors if not isinstance(d, StoredItemMatcher)]
    return words_only


VARIANTS: dict[str, tuple[Callable[[str, PrivacyScanner], str], bool]] = {
    "redact": (redact_request, True),
    "without matcher": (redact_request, False),
    "no colon rule": (no_colon_rule, True),
    "sentence rule": (sentence_rule, True),
}
"""Name: (the public part of a one-part request, whether the matcher runs)."""


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


def wire_check(user: DatasetUser, phrasing: str, store: EmbeddingStore) -> tuple[str, str]:
    """The bytes the sketch graph sends for the request through a recording cloud, and
    the public instruction among them."""
    text, _ = phrase(user, phrasing)
    task = user.tasks[0].instruction
    request: Any = {"user_id": user.context.user_id, "mode": "sketch"}
    if phrasing == TWO_PART:
        request |= {
            "public_instruction": task.public_instruction,
            "private_instruction": task.private_instruction,
        }
    else:
        request["instruction"] = text
    with RecordingServer(reply="1. Opening\n2. Body") as server:
        components = Components(
            store=store,  # type: ignore[arg-type]
            local_model=GenericFakeChatModel(messages=iter([AIMessage("A draft.")] * 4)),
            egress_guard=EgressGuard(base_url=server.base_url, model="fake", max_retries=0),
            k=5,
        )
        with contextlib.suppress(CoGenesisError):
            run_sketch_graph(components, request)
        return server.all_bytes().decode("utf-8"), _sent_instruction(server)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def measure(users: list[DatasetUser], wire: bool) -> dict[str, Any]:
    """Every phrasing, variant and (with ``wire``) the sketch graph, over ``users``."""
    phrasings: dict[str, Any] = {}
    methods: dict[str, Counter[str]] = {p: Counter() for p in PHRASINGS}
    started = time.perf_counter()
    EmbeddingStore.embeddings.embed_query("warm up")  # the model loads once, not per user
    stores = {
        u.context.user_id: EmbeddingStore({u.context.user_id: documents_of(u)}) for u in users
    }
    item_seconds, added_ms = [], []
    for user in users:  # the items are embedded once per user, at its first request
        tick = time.perf_counter()
        stored_item_matcher(stores[user.context.user_id], user.context.user_id)  # type: ignore[arg-type]
        item_seconds.append(time.perf_counter() - tick)
    for phrasing in PHRASINGS:
        names = ("redact", "without matcher") if phrasing == TWO_PART else tuple(VARIANTS)
        totals = {v: Counter[str]() for v in (*names, "graph")}
        leaking = dict.fromkeys((*names, "graph"), 0)
        leaking_held = dict.fromkeys((*names, "graph"), 0)
        for user in users:
            store = stores[user.context.user_id]
            scanner = scanner_of(store, user, phrasing)
            scanners = {True: scanner, False: without_matcher(scanner)}
            text, general = phrase(user, phrasing)
            units = private_units(text, general, user)
            held = store_held_units(text, general, user)
            seconds = {}
            for variant in names:
                public_of, matcher = VARIANTS[variant]
                tick = time.perf_counter()
                if phrasing == TWO_PART:
                    public = user.tasks[0].instruction.public_instruction
                else:
                    public = public_of(text, scanners[matcher])
                outbound = outbound_of(public, scanners[matcher])
                seconds[variant] = time.perf_counter() - tick
                counts = score(text, general, units, outbound, held)
                totals[variant] += counts
                leaking[variant] += bool(counts["leaked"])
                leaking_held[variant] += bool(counts["held_leaked"])
            added_ms.append(1000 * (seconds["redact"] - seconds["without matcher"]))
            if phrasing != TWO_PART:
                methods[phrasing][split_request(text, scanner).method] += 1
            if wire:
                everything, instruction = wire_check(user, phrasing, store)
                counts = score(text, general, units, instruction, held)
                # a unit counts as leaked wherever in the request bytes it appears
                counts["leaked"] = score(text, general, units, everything)["leaked"]
                totals["graph"] += counts
                leaking["graph"] += bool(counts["leaked"])
                leaking_held["graph"] += bool(counts["held_leaked"])
        rows = {
            v: figure_row(totals[v], len(users), leaking[v], leaking_held[v])
            for v in totals
            if totals[v]
        }
        if methods[phrasing]:
            rows["redact"]["methods"] = dict(methods[phrasing])
        phrasings[phrasing] = rows
    return {
        "phrasings": phrasings,
        "matcher_latency": {
            "added_ms_p50": _percentile(added_ms, 0.5),
            "added_ms_p95": _percentile(added_ms, 0.95),
            "items_embedding_ms_p50": 1000 * _percentile(item_seconds, 0.5),
            "items_embedding_ms_p95": 1000 * _percentile(item_seconds, 0.95),
        },
        "seconds": time.perf_counter() - started,
    }


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
    parser.add_argument("--sweep", action="store_true", help="the matcher's threshold sweep")
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
        if args.sweep:
            figures["sweep"] = {
                **clause_sweep(users, SWEEP),
                "requests": request_sweep(users, SWEEP),
            }
    print(
        f"requests of {len(users)} users: public words reaching the cloud (goal >= 90%), "
        "general part, personal part, private units leaked, store-held facts leaked"
    )
    for phrasing, variants in figures["phrasings"].items():
        print(f"  {phrasing}:")
        for variant, row in variants.items():
            print(f"    {variant:<15} {figure_line(row)}")
    latency = figures["matcher_latency"]
    print(
        f"  matcher: +{latency['added_ms_p50']:.0f} ms per request (p50; "
        f"p95 {latency['added_ms_p95']:.0f} ms); a user's items embedded in "
        f"{latency['items_embedding_ms_p50']:.0f} ms (p50; p95 "
        f"{latency['items_embedding_ms_p95']:.0f} ms), once"
    )
    if "sweep" in figures:
        print_sweep(figures["sweep"])
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
