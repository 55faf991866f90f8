"""Quality kept against leakage, per mode and for ``mode="auto"`` (as PAPILLON reports it).

Two labelled sets, each request typed as one instruction and split on the device:

- **requests**: the public writing requests of ``evaluation/pii_cases.py`` (no private
  fact) and its handwritten requests (private facts typed in, each labelled with its
  span: people, places, health, money, credentials...). A scripted cloud on
  127.0.0.1 records every byte; the local model is a fake; for fusion (and for auto,
  which may fuse) a local scorer writes every labelled unit into its answer, so the
  prefix gate is what stands between them and the cloud. Quality here is the share
  of the public part kept: the request's words outside every unit (stop words
  aside) that reached the cloud, over the public requests and the private ones.
- **dev**: users of the paper's dev split with a canary planted in their private
  details, each task typed as a person types it (``paper_one_part_cases``: name,
  city and named private details labelled, plus the canary); real Chroma, the local
  llama.cpp model and the stand-in (``llama_cpp.server``) behind a recording proxy.
  Quality is ROUGE-L against the authors' reference.

Leak, in both: the share of labelled private units any word of which reached the
recording cloud (bodies parsed as JSON, so an escaped character hides nothing). The
row ``cloud-private`` sends the context on purpose (``allow_private_egress``): the
unsafe upper bound, and the proof that the recorder sees a leak.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import DEV_SPLIT
from langchain_core.documents import Document
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_cogenesis.errors import PrivacyViolation
from langchain_cogenesis.evaluation.metrics import rouge_l
from langchain_cogenesis.evaluation.pii_cases import (
    PUBLIC_REQUESTS,
    PiiCase,
    PrivateUnit,
    handwritten_cases,
    paper_one_part_cases,
)
from langchain_cogenesis.graphs import Components, build_auto_graph, build_sketch_graph
from langchain_cogenesis.graphs.sketch import private_run, result_from_state
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.schema import WritingResult
from tests.cloud_servers import RecordingServer
from tests.fusion_fakes import ScriptScorer
from tests.leak_harness import MemoryStore

MODES = ("cloud-public", "sketch", "fusion", "local", "auto", "cloud-private")
# fmt: off
_STOP = frozenset([
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "and", "or", "my", "her", "his",
    "our", "your", "is", "was", "be", "by", "with", "from", "as", "me", "i", "it", "this",
    "that", "can", "you", "u", "so",
])
# fmt: on
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> set[str]:
    """Lower-case words of ``text``, stop words and one-letter words aside."""
    return {w.casefold() for w in _WORD.findall(text)} - _STOP - set("abcdefghijklmnopqrstuvwxyz")


def public_words(case: PiiCase) -> set[str]:
    """The request's words outside every labelled unit."""
    unit_words = set().union(*(words(u.text) for u in case.units)) if case.units else set()
    return words(case.text) - unit_words


def strings(document: Any) -> Iterator[str]:
    """Every string in a parsed JSON body."""
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for value in document.values():
            yield from strings(value)
    elif isinstance(document, list):
        for value in document:
            yield from strings(value)


def cloud_words(bodies: Iterable[bytes]) -> set[str]:
    """The words the cloud received in ``bodies``."""
    seen: set[str] = set()
    for raw in bodies:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        for text in strings(parsed):
            seen |= words(text)
    return seen


def unit_leaked(unit: PrivateUnit, seen: set[str]) -> bool:
    """Whether any word of ``unit`` reached the cloud."""
    return bool(words(unit.text) & seen)


def request_for(mode: str, user_id: str, text: str) -> dict[str, Any]:
    return {"user_id": user_id, "mode": mode, "instruction": text}


def run(mode: str, parts: Components, request: dict[str, Any], thread: str) -> WritingResult | None:
    """One request in ``mode``: the auto graph for ``auto``, the sketch graph otherwise;
    ``None`` when the guard refused a payload (:class:`PrivacyViolation`, nothing sent)."""
    graph = build_auto_graph() if mode == "auto" else build_sketch_graph()
    if mode == "cloud-private":
        parts = replace(parts, allow_private_egress=True)
    config: Any = {"configurable": {"thread_id": thread}}
    try:
        with private_run(parts):
            return result_from_state(graph.invoke(request, config=config, context=parts))
    except PrivacyViolation:
        return None


PROBE = "Write a short note"
"""A request with nothing in it: what a mode sends for it is the mode's own wording."""


def template_words(
    modes: Iterable[str], parts: Components, recorder: RecordingServer, user_id: str
) -> dict[str, set[str]]:
    """Per mode, the words its prompts send whatever the request (its templates).

    They are left out of both measures: a unit or public word that a prompt template
    also holds cannot be told apart on the wire. ``auto`` sends what its routes send.
    """
    found: dict[str, set[str]] = {}
    for mode in modes:
        if mode == "auto":
            continue
        before = len(recorder.raw_bodies)
        run(mode, parts, request_for(mode, user_id, PROBE), f"probe-{mode}")
        found[mode] = cloud_words(recorder.raw_bodies[before:]) - words(PROBE)
    found["auto"] = found["cloud-public"] | found["sketch"] | found["fusion"]
    return found


# --- the requests set: scripted cloud, fake local model ------------------------------------


def scripted_parts(server: RecordingServer, case: PiiCase) -> Components:
    script = [" Dear", " friend,", *(f" {w}" for u in case.units for w in u.text.split())]
    # the request's own words are in the vocabulary, so a prompt reads back as written
    scorer = ScriptScorer(script, extra=[" the", *(f" {w}" for w in case.text.split())])
    server.tokenizer = lambda text: scorer.tokenize(text, add_bos=True)
    store = MemoryStore(
        {"bench": [Document("Writes short, warm notes and signs with a first name.")]}
    )
    return Components(
        store=store,  # type: ignore[arg-type]
        local_model=GenericFakeChatModel(messages=iter([AIMessage("A local draft.")] * 8)),
        egress_guard=EgressGuard(
            base_url=server.base_url, model="fake", max_retries=0, audit_log=None
        ),
        local_scorer=scorer,
        split_with_local_model=False,
        fusion_max_tokens=len(script) + 2,
    )


def requests_set(limit: int | None = None) -> dict[str, Any]:
    public = [PiiCase(text, (), "public") for text in PUBLIC_REQUESTS][:limit]
    private = handwritten_cases()[:limit]
    rows: dict[str, Any] = {}
    routes: Counter[str] = Counter()
    with RecordingServer(reply="1. Open warmly 2. Say the point 3. Close") as server:
        probe = scripted_parts(server, PiiCase(PROBE, (), "probe"))
        template = template_words(MODES, probe, server, "bench")
        for mode in MODES:
            units = leaked = kept = total_public = cloud_requests = refused = 0
            kept_public_only = total_public_only = 0
            for number, case in enumerate([*public, *private]):
                before = len(server.raw_bodies)
                result = run(
                    mode, scripted_parts(server, case), request_for(mode, "bench", case.text),
                    f"{mode}-{number}",
                )  # fmt: skip
                refused += result is None
                sent = server.raw_bodies[before:]
                seen = cloud_words(sent) - template[mode]
                cloud_requests += bool(sent)
                units += len(case.units)
                leaked += sum(unit_leaked(u, seen) for u in case.units)
                mine = public_words(case) - template[mode]
                kept += len(mine & seen)
                total_public += len(mine)
                if not case.units:
                    kept_public_only += len(mine & seen)
                    total_public_only += len(mine)
                if mode == "auto":
                    route = result.route if result else "refused"
                    routes[f"{'public' if not case.units else 'private'}:{route}"] += 1
            rows[mode] = {
                "unit_leak_rate": leaked / units,
                "units": units,
                "public_kept": kept / total_public,
                "public_kept_public_requests": kept_public_only / total_public_only,
                "requests_reaching_cloud": cloud_requests,
                "refused_by_the_guard": refused,
            }
    return {
        "public_requests": len(public),
        "private_requests": len(private),
        "modes": rows,
        "auto_routes": dict(sorted(routes.items())),
    }


# --- the dev set: real models ---------------------------------------------------------------


def dev_set(items: int, max_tokens: int, fusion_draft: int = 0) -> dict[str, Any]:
    if not DEV_SPLIT.exists():
        return {}
    from langchain_cogenesis.data.paper import paper_sample_to_user
    from langchain_cogenesis.fusion import LlamaCppScorer
    from langchain_cogenesis.models import ChatLocalLlama, StandInCloud, bundled_model_path
    from langchain_cogenesis.retrievers import PrivateStore

    raw = json.loads(DEV_SPLIT.read_text(encoding="utf-8"))[:items]
    model_path = bundled_model_path()
    scores: dict[str, list[tuple[str, str]]] = {mode: [] for mode in MODES}
    leaks = {mode: [0, 0] for mode in MODES}
    refused: Counter[str] = Counter()
    routes: Counter[str] = Counter()
    seconds: dict[str, float] = dict.fromkeys(MODES, 0.0)
    with (
        tempfile.TemporaryDirectory() as folder,
        StandInCloud(model_path, n_ctx=1024, logits_all=True) as cloud,
        RecordingServer(upstream=cloud.base_url) as recorder,
    ):
        store = PrivateStore(Path(folder) / "store")
        local = ChatLocalLlama(model_path=model_path, max_tokens=max_tokens, seed=7)
        scorer = LlamaCppScorer(model_path, n_ctx=1024, name="local")
        template: dict[str, set[str]] = {}
        for number, item in enumerate(raw):
            user = paper_sample_to_user(item)
            canary = f"canary-{number:03d}-larkspur-quill"
            context = user.context.model_copy(
                update={"private_details": [*user.context.private_details, canary]}
            )
            store.add_user_context(context)
            [case] = paper_one_part_cases([item], split="tune")
            units = [*case.units, PrivateUnit(0, 0, "CANARY", canary)]
            parts = Components(
                store=store,
                local_model=local,
                egress_guard=EgressGuard(
                    base_url=recorder.base_url,
                    model=cloud.model,
                    send_max_tokens=True,
                    audit_log=None,
                    timeout=600.0,  # quality is measured here, not latency
                ),
                k=3,
                sketch_max_tokens=48,
                answer_max_tokens=max_tokens,
                fusion_max_tokens=max_tokens,
                fusion_draft=fusion_draft,
                local_scorer=scorer,
                split_with_local_model=False,
                canaries=(canary,),
            )
            if not template:
                template = template_words(MODES, parts, recorder, context.user_id)
            reference = user.tasks[0].reference
            for mode in MODES:
                before, started = len(recorder.raw_bodies), time.perf_counter()
                request = request_for(mode, context.user_id, case.text)
                result = run(mode, parts, request, f"dev-{mode}-{number}")
                seconds[mode] += time.perf_counter() - started
                seen = cloud_words(recorder.raw_bodies[before:]) - template[mode]
                leaks[mode][0] += sum(unit_leaked(u, seen) for u in units)
                leaks[mode][1] += len(units)
                scores[mode].append((result.answer if result else "", reference))
                refused[mode] += result is None
                if mode == "auto":
                    routes[result.route if result else "refused"] += 1
            print(f"  dev item {number + 1}/{len(raw)} done", file=sys.stderr)
    return {
        "items": len(raw),
        "max_tokens": max_tokens,
        "modes": {
            mode: {
                "rouge_l": rouge_l([a for a, _ in pairs], [r for _, r in pairs]),
                "unit_leak_rate": leaks[mode][0] / leaks[mode][1],
                "units": leaks[mode][1],
                "seconds_per_request": seconds[mode] / len(raw),
                "refused_by_the_guard": refused[mode],
            }
            for mode, pairs in scores.items()
        },
        "auto_routes": dict(sorted(routes.items())),
    }


def print_table(figures: dict[str, Any]) -> None:
    requests, dev = figures["requests"], figures.get("dev") or {}
    print(
        f"requests: {requests['public_requests']} public + {requests['private_requests']} "
        f"with labelled private facts; dev: {dev.get('items', 0)} users of the paper's dev split"
    )
    header = (
        f"{'mode':<14}{'leak (req.)':>12}{'public kept':>13}{'kept (pub.)':>13}"
        f"{'ROUGE-L dev':>13}{'leak (dev)':>12}{'refused':>9}"
    )
    print(header)
    for mode in MODES:
        row = requests["modes"][mode]
        dev_row = dev.get("modes", {}).get(mode)
        rouge = f"{dev_row['rouge_l']:.1f}" if dev_row else "-"
        dev_leak = f"{dev_row['unit_leak_rate']:.1%}" if dev_row else "-"
        print(
            f"{mode:<14}{row['unit_leak_rate']:>12.1%}{row['public_kept']:>13.1%}"
            f"{row['public_kept_public_requests']:>13.1%}{rouge:>13}{dev_leak:>12}"
            f"{row['refused_by_the_guard']:>9}"
        )
    print(f"auto routes (requests): {requests['auto_routes']}")
    if dev:
        print(f"auto routes (dev): {dev['auto_routes']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev-items", type=int, default=6, help="dev-split users (0: none)")
    parser.add_argument(
        "--requests", type=int, default=None, help="requests of each kind (default: all)"
    )
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument(
        "--fusion-draft", type=int, default=0,
        help="local proposals per cloud request in fusion (0, the default: one request per "
        "token; llama_cpp.server ranks the whole vocabulary for every echoed token, so "
        "drafting against the stand-in is slower, not faster)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--from-json", type=Path, default=None, help="take the requests set from an earlier run"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    earlier = json.loads(args.from_json.read_text()) if args.from_json else None
    figures: dict[str, Any] = {
        "benchmark": "auto_router",
        "requests": earlier["requests"] if earlier else requests_set(args.requests),
    }
    if args.dev_items > 0:
        figures["dev"] = dev_set(args.dev_items, args.max_tokens, args.fusion_draft)
    figures["seconds"] = time.perf_counter() - started
    figures["settings"] = {
        "dev_items": args.dev_items,
        "max_tokens": args.max_tokens,
        "fusion_draft": args.fusion_draft,
    }
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
