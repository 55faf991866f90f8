"""Privacy figures: leak rate per mode, the unsafe baseline, over-blocking, guard latency.

- leak rate: generated users (canaries and PII in private context, a third of them
  pasting a secret into the public part) through every mode against a recording
  cloud on 127.0.0.1; a case leaks when any secret reaches the recorder (target 0).
- baseline: the cloud with context (``allow_private_egress=True``) through the same
  recorder (must be 100%: proves the recorder sees leaks).
- over-blocking: labelled public instructions with no private data, scanned against
  each user of the paper's dev split (target under 5%); and the dev split's own
  public titles as the user wrote them.
- n-gram sweep: how often n-grams of a user's private documents flag that user's
  reference answers (reuse of private content) against other users' answers (false
  alarms), which is how ``NGRAM_N`` was chosen.
- latency: scanning (and scanning plus the audit write) of a 2 kB payload against an
  index of 1,000 private chunks (target p95 under 5 ms).
- private facts the store does not hold: span-labelled writing requests (generated,
  plus the dev split's tasks typed as one string) scanned with an empty store; unit
  leakage after :func:`decide` redacts (goal under 7.5%) for no protection,
  LangChain's ``PIIMiddleware`` detectors, the scanner with its rules only and the
  scanner with the recognizer; over-redaction of public words (goal under 5%) and
  latency per request. Tuned on the ``tune`` half, reported on ``test``.
- ``--real-only`` (entry ``privacy:real``, the primary figure): real requests of a
  PUPA-format file (PUPA_TNB beside the checkout), zero knowledge, unit leakage and
  non-private words kept with latency per request, per system, on the half the
  tagger was not trained on; the tagger's threshold swept; public-only requests the
  scanner alters, listed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import DEV_SPLIT, PUPA

from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.data.paper import load_paper_dev
from langchain_cogenesis.errors import CoGenesisError
from langchain_cogenesis.evaluation import generate_leak_cases, leaked
from langchain_cogenesis.evaluation.pii_cases import (
    PUBLIC_REQUESTS,
    PiiCase,
    generate_pii_cases,
    handwritten_cases,
    over_redaction,
    paper_one_part_cases,
    unit_leaks,
)
from langchain_cogenesis.evaluation.real_requests import load_pupa, score_outbound, summarize
from langchain_cogenesis.graphs import run_sketch_graph
from langchain_cogenesis.privacy import AuditLog, PrivacyScanner, decide
from langchain_cogenesis.privacy.detection.detectors import (
    Hit,
    NgramDetector,
    PrivateIndex,
    merge_spans,
)
from langchain_cogenesis.privacy.detection.entities import EntityDetector
from langchain_cogenesis.privacy.detection.ner_engine import ner_available
from langchain_cogenesis.privacy.detection.recognizers import RecognizerRegistry
from langchain_cogenesis.privacy.detection.splitter import split_request
from langchain_cogenesis.privacy.detection.tagger import (
    WEIGHTS_DIR,
    SpanTagger,
    TaggerRecognizer,
    shipped_tagger,
)
from langchain_cogenesis.retrievers.loaders import user_context_documents
from tests.cloud_servers import RecordingServer
from tests.leak_harness import MODES, components_for, mode_and_fault, request_for

PUBLIC_WITHOUT_PRIVATE_DATA = [
    "Write a blog post about staying productive while working from home",
    "Draft an article explaining how compound interest works",
    "Prepare a short speech for a team's end-of-year celebration",
    "Write a proposal for a community recycling program",
    "Compose an email inviting colleagues to a lunch-and-learn session",
    "Create a beginner's guide to growing herbs indoors",
    "Write a series of social media posts about a charity bake sale",
    "Draft a product description for a handmade ceramic mug",
    "Write a reflective essay on learning a second language",
    "Outline a plan for a weekend hiking trip",
    "Write a cover letter for a junior data analyst position",
    "Compose a thank-you note to a volunteer team",
    "Write a short story about a lighthouse keeper",
    "Draft a newsletter introduction for a local book club",
    "Create a workout plan for beginners",
    "Write a speech for a school graduation ceremony",
    "Draft an email asking for feedback on a presentation",
    "Write a guide to saving energy at home",
    "Compose a poem about autumn in the city",
    "Write a press release announcing a new bakery opening",
    "Create a study plan for a statistics exam",
    "Write an article about the history of the bicycle",
    "Draft a welcome message for new members of a chess club",
    "Write a podcast episode outline about sleep and health",
    "Compose a farewell email to a departing coworker",
    "Write a review of a documentary about ocean life",
    "Draft a fundraising letter for an animal shelter",
    "Write a post with tips for first-time home buyers",
    "Create an agenda for a project kickoff meeting",
    "Write a toast for a friend's wedding",
    "Draft a complaint letter about a delayed delivery",
    "Write a tutorial on making fresh pasta",
    "Compose a motivational message for a running group",
    "Write a brief history of jazz for a concert program",
    "Draft a lesson plan on the water cycle",
    "Write a proposal for a workplace mentoring program",
    "Write a guide to photographing the night sky",
    "Create a checklist for moving to a new apartment",
    "Write an op-ed on public libraries",
    "Draft a LinkedIn post about finishing an online course",
]


def leak_rates(count: int) -> dict[str, Any]:
    cases = generate_leak_cases(count, seed=11)
    per_mode: dict[str, dict[str, int]] = {
        m: {"cases": 0, "leaking": 0, "requests": 0} for m in MODES
    }
    with tempfile.TemporaryDirectory() as folder:
        audit = AuditLog(Path(folder) / "audit.sqlite3")
        for number, case in enumerate(cases):
            mode, fault = mode_and_fault(number)
            with RecordingServer(fault, reply="1. Opening 2. Body") as server:
                server.delay = 0.6
                first_k = 4 if mode == "fusion-first-k" else None
                draft = 4 if mode == "fusion-draft" else 0
                components = components_for(
                    case, server, audit, first_k=first_k, fusion_draft=draft
                )
                with contextlib.suppress(CoGenesisError):  # faults end in typed errors
                    run_sketch_graph(components, request_for(case, mode))  # type: ignore[arg-type]
                wire = server.all_bytes().decode("utf-8")
                per_mode[mode]["requests"] += len(server.requests)
            per_mode[mode]["cases"] += 1
            per_mode[mode]["leaking"] += bool(leaked(case, wire))
        baseline = {"cases": 0, "leaking": 0}
        for case in cases[: max(10, count // 4)]:
            with RecordingServer(reply="An answer") as server:
                components = components_for(case, server, audit, allow_private_egress=True)
                run_sketch_graph(components, request_for(case, "cloud-private"))  # type: ignore[arg-type]
                baseline["cases"] += 1
                baseline["leaking"] += bool(leaked(case, server.all_bytes().decode("utf-8")))
        chain_ok = audit.verify().ok
    return {
        "per_mode": {m: {**v, "leak_rate": v["leaking"] / v["cases"]} for m, v in per_mode.items()},
        "leak_rate_all_modes": sum(v["leaking"] for v in per_mode.values()) / count,
        "baseline_leak_rate": baseline["leaking"] / baseline["cases"],
        "audit_chain_ok": chain_ok,
    }


def _user_texts(user: Any) -> list[str]:
    return [d.page_content for d in user_context_documents(user.context)]


def over_blocking() -> dict[str, Any]:
    users = load_paper_dev(DEV_SPLIT) if DEV_SPLIT.exists() else []
    users = users or load_demo_users()
    flagged = total = 0
    by_detector: dict[str, int] = {}
    for user in users:
        scanner = PrivacyScanner(_user_texts(user), names=[user.context.profile.name])
        for instruction in PUBLIC_WITHOUT_PRIVATE_DATA:
            hits = scanner.scan(instruction)
            total += 1
            if hits:
                flagged += 1
                for hit in {h.detector for h in hits}:
                    by_detector[hit] = by_detector.get(hit, 0) + 1
    titles_flagged = 0
    for user in users:
        public = user.tasks[0].instruction.public_instruction
        scanner = PrivacyScanner(
            _user_texts(user), names=[user.context.profile.name], public_text=public
        )
        titles_flagged += bool(scanner.scan(public))
    return {
        "users": len(users),
        "labelled_instructions": len(PUBLIC_WITHOUT_PRIVATE_DATA),
        "over_blocking_rate": flagged / total,
        "flagged_by_detector": by_detector,
        "user_written_titles_flagged_rate": titles_flagged / len(users),
    }


def ngram_sweep() -> dict[str, Any]:
    if not DEV_SPLIT.exists():
        return {}
    users = load_paper_dev(DEV_SPLIT)
    rows = {}
    for n in (3, 4, 5, 6, 8, 10):
        own = cross = 0
        for number, user in enumerate(users):
            detector = NgramDetector(_user_texts(user), n=n)
            own += bool(detector.find(user.tasks[0].reference))
            other = users[(number + 1) % len(users)]
            cross += bool(detector.find(other.tasks[0].reference))
        rows[str(n)] = {
            "own_reference_flag_rate": own / len(users),
            "other_reference_flag_rate": cross / len(users),
        }
    return rows


def latency(iterations: int) -> dict[str, Any]:
    users = load_paper_dev(DEV_SPLIT) if DEV_SPLIT.exists() else load_demo_users()
    chunks: list[str] = []
    for user in users:
        for text in _user_texts(user):
            chunks += [text[i : i + 500] for i in range(0, len(text), 500)]
    chunks = (chunks * (1000 // max(len(chunks), 1) + 1))[:1000]
    index = PrivateIndex.build(chunks, names=[users[0].context.profile.name])
    scanner = PrivacyScanner(index=index, canaries=["canary-x"])
    payload = (users[1].tasks[0].reference + " ") * 10
    payload = payload[:2048]
    scan_ms, audited_ms = [], []
    with tempfile.TemporaryDirectory() as folder:
        audit = AuditLog(Path(folder) / "audit.sqlite3")
        for _ in range(iterations):
            started = time.perf_counter()
            hits = scanner.scan(payload)
            scan_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            hits = scanner.scan(payload)
            audit.record(
                user_id="u",
                destination="d",
                purpose="p",
                decision="sent",
                hits=[{"detector": h.detector} for h in hits],
                payload=payload,
            )
            audited_ms.append((time.perf_counter() - started) * 1000)

    def p95(values: list[float]) -> float:
        return sorted(values)[int(0.95 * (len(values) - 1))]

    return {
        "chunks": len(chunks),
        "payload_chars": len(payload),
        "scan_ms_p50": statistics.median(scan_ms),
        "scan_ms_p95": p95(scan_ms),
        "scan_and_audit_ms_p50": statistics.median(audited_ms),
        "scan_and_audit_ms_p95": p95(audited_ms),
    }


def _baseline_hits(text: str) -> list[Hit]:
    """LangChain's built-in PIIMiddleware types: email, credit card, IP, MAC, URL."""
    from langchain.agents.middleware import _redaction as builtin

    found = [
        match
        for detect in (
            builtin.detect_email,
            builtin.detect_credit_card,
            builtin.detect_ip,
            builtin.detect_mac_address,
            builtin.detect_url,
        )
        for match in detect(text)
    ]
    return [Hit(m["start"], m["end"], f"langchain:{m['type']}", m["value"]) for m in found]


def _entity_detector(system: str) -> EntityDetector:
    """A fresh detector per system, so that no cached line hides the cost.

    ``scanner`` is the default (spaCy engine, trained tagger, rules);
    ``scanner_without_tagger`` the detector before the tagger; ``scanner_tagger_rules``
    the tagger and the rules without spaCy; ``scanner_rules_only`` no model at all.
    """
    if system == "scanner_rules_only":
        return EntityDetector.rules_only()
    if system == "scanner_without_tagger":
        return EntityDetector(registry=RecognizerRegistry.default(tagger=False))
    if system == "scanner_tagger_rules":
        return EntityDetector(engine=None)
    if system.startswith("scanner_tagger_at_"):  # the tagger's threshold, swept
        tagger = shipped_tagger()
        assert tagger is not None
        threshold = float(system.removeprefix("scanner_tagger_at_"))
        registry = RecognizerRegistry.default(tagger=False)
        registry.add(
            TaggerRecognizer(SpanTagger(WEIGHTS_DIR, threshold=threshold, lines=tagger.lines))
        )
        return EntityDetector(registry=registry)
    return EntityDetector()


def _zero_knowledge_scanner(*, use_ner: bool) -> PrivacyScanner:
    """An empty store; a fresh detector so that no cached line hides the cost."""
    system = "scanner" if use_ner else "scanner_rules_only"
    return PrivacyScanner(entity_detector=_entity_detector(system))


REAL_SYSTEMS = (
    "no_protection",
    "langchain_pii_middleware",
    "scanner_rules_only",
    "scanner_without_tagger",
    "scanner_tagger_rules",
    "scanner",
)


def _real_outbound(system: str, scanner: PrivacyScanner | None, text: str) -> str:
    """What ``system`` sends of a request typed as one message."""
    if system == "no_protection":
        return text
    if system == "langchain_pii_middleware":
        pieces, last = [], 0
        for start, end in merge_spans(_baseline_hits(text)):
            pieces += [text[last:start], "[REDACTED]"]
            last = end
        return "".join([*pieces, text[last:]])
    assert scanner is not None
    if system == "sketch_graph_split":  # one instruction, split on the device first
        public = split_request(text, scanner).instruction.public_instruction
        text = public
    decision = decide([("user", text)], scanner)
    return decision.outbound[0][1] if decision.sendable else ""


def real_requests(systems: tuple[str, ...] = REAL_SYSTEMS) -> dict[str, Any]:
    """Unit leakage and non-private words kept on real requests (PUPA_TNB, zero knowledge).

    The held-out half is the figure: the tagger was trained on the other half (and on
    generated text). Latency per request is the whole decision (scan and redaction).
    """
    if not PUPA.exists():
        return {"skipped": f"{PUPA} is absent"}
    figures: dict[str, Any] = {"file": PUPA.name}
    for half in ("heldout", "train"):
        data = load_pupa(PUPA, half=half)
        row: dict[str, Any] = {
            "requests": len(data.cases),
            "skipped_placeholder_units": data.skipped_placeholder_units,
            "skipped_absent_units": data.skipped_absent_units,
        }
        for system in (*systems, "sketch_graph_split") if half == "heldout" else systems:
            detector_system = "scanner" if system == "sketch_graph_split" else system
            scanner = (
                PrivacyScanner(entity_detector=_entity_detector(detector_system))
                if system.startswith(("scanner", "sketch"))
                else None
            )
            rows, latency_ms = [], []
            for case in data.cases:
                started = time.perf_counter()
                outbound = _real_outbound(system, scanner, case.text)
                latency_ms.append((time.perf_counter() - started) * 1000)
                rows.append(score_outbound(case, outbound))
            row[system] = summarize(rows, latency_ms if scanner else ())
            print(f"  {half:<8} {system:<26} {_real_line(row[system])}", flush=True)
        figures[half] = row
    return figures


def _real_line(row: dict[str, Any]) -> str:
    latency = (
        f"  p50 {row['latency_ms_p50']:.0f} ms, p95 {row['latency_ms_p95']:.0f} ms"
        if "latency_ms_p50" in row
        else ""
    )
    return (
        f"leakage {row['unit_leakage']:6.1%}  words kept {row['words_kept']:6.1%}  "
        f"requests leaking nothing {row['requests_leaking_nothing']:6.1%}{latency}"
    )


def tagger_sweep(thresholds: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9)) -> dict[str, Any]:
    """The tagger's threshold against leakage and words kept, on the held-out half."""
    if not PUPA.exists() or shipped_tagger() is None:
        return {}
    cases = load_pupa(PUPA, half="heldout").cases
    rows: dict[str, Any] = {}
    for threshold in thresholds:
        system = f"scanner_tagger_at_{threshold}"
        scanner = PrivacyScanner(entity_detector=_entity_detector(system))
        scored = [score_outbound(c, _real_outbound(system, scanner, c.text)) for c in cases]
        rows[str(threshold)] = summarize(scored)
        print(f"  tagger threshold {threshold}: {_real_line(rows[str(threshold)])}", flush=True)
    return rows


PUBLIC_ALTERED_GOAL = 0.05


def public_requests_altered() -> dict[str, Any]:
    """Over-redaction: public-only requests that the zero-knowledge scanner alters.

    The authors' public instructions (the dev split's general parts) and requests
    without private facts; what was altered is listed.
    """
    users = json.loads(DEV_SPLIT.read_text(encoding="utf-8")) if DEV_SPLIT.exists() else []
    texts = [
        *PUBLIC_REQUESTS,
        *PUBLIC_WITHOUT_PRIVATE_DATA,
        *(user["conversations"][0]["value"].split(": ")[0] for user in users),
    ]
    scanner = PrivacyScanner(entity_detector=EntityDetector())
    altered = []
    for text in dict.fromkeys(texts):
        decision = decide([("user", text)], scanner)
        outbound = decision.outbound[0][1] if decision.sendable else ""
        if outbound != text:
            altered.append({"text": text, "sent": outbound})
    total = len(dict.fromkeys(texts))
    return {
        "requests": total,
        "altered": len(altered),
        "altered_rate": len(altered) / max(total, 1),
        "goal": PUBLIC_ALTERED_GOAL,
        "altered_requests": altered,
    }


def _measure(system: str, cases: list[PiiCase], public: list[str]) -> dict[str, Any]:
    scanner = _zero_knowledge_scanner(use_ner=system == "scanner")
    leaks: dict[str, list[int]] = {}
    redacted_words = public_words = blocked = 0
    latency_ms: list[float] = []

    def spans_of(text: str) -> tuple[list[tuple[int, int]], bool]:
        if system == "no_protection":
            return [], True
        if system == "langchain_pii_middleware":
            return merge_spans(_baseline_hits(text)), True
        started = time.perf_counter()
        decision = decide([("user", text)], scanner)
        latency_ms.append((time.perf_counter() - started) * 1000)
        return merge_spans(decision.hits), decision.sendable

    for case in cases:
        spans, sendable = spans_of(case.text)
        blocked += not sendable
        for unit in case.units:
            row = leaks.setdefault(unit.category, [0, 0])
            row[0] += sendable and unit_leaks(unit, spans)
            row[1] += 1
        hidden, words = over_redaction(case.text, case.units, spans)
        redacted_words, public_words = redacted_words + hidden, public_words + words
    public_hidden = public_total = 0
    for text in public:
        spans, _ = spans_of(text)
        hidden, words = over_redaction(text, (), spans)
        public_hidden, public_total = public_hidden + hidden, public_total + words
    units = sum(total for _, total in leaks.values())
    figures: dict[str, Any] = {
        "unit_leakage": sum(leaked for leaked, _ in leaks.values()) / units,
        "leakage_by_category": {k: leaked / total for k, (leaked, total) in leaks.items()},
        "over_redaction_in_requests": redacted_words / max(public_words, 1),
        "over_redaction_public_texts": public_hidden / max(public_total, 1),
        "blocked_rate": blocked / len(cases),
    }
    if latency_ms:
        figures["latency_ms_p50"] = statistics.median(latency_ms)
        figures["latency_ms_p95"] = sorted(latency_ms)[int(0.95 * (len(latency_ms) - 1))]
    return figures


def private_facts(count: int) -> dict[str, Any]:
    users = json.loads(DEV_SPLIT.read_text(encoding="utf-8")) if DEV_SPLIT.exists() else []
    public = [
        *PUBLIC_REQUESTS,
        *PUBLIC_WITHOUT_PRIVATE_DATA,
        *(user["conversations"][0]["value"].split(": ")[0] for user in users),
    ]
    figures: dict[str, Any] = {"ner_installed": ner_available(), "public_texts": len(public)}
    for split in ("tune", "test"):
        generated = generate_pii_cases(count, split=split, seed=7)
        paper = paper_one_part_cases(users, split=split)
        cases = generated + paper
        figures[split] = {
            "cases": len(cases),
            "units": sum(len(case.units) for case in cases),
            "paper_dev_cases": len(paper),
            **{
                system: _measure(system, cases, public)
                for system in (
                    "no_protection",
                    "langchain_pii_middleware",
                    "scanner_rules_only",
                    "scanner",
                )
            },
        }
    written = handwritten_cases()
    figures["handwritten"] = {
        "cases": len(written),
        "units": sum(len(case.units) for case in written),
        **{
            system: _measure(system, written, list(PUBLIC_REQUESTS))
            for system in ("no_protection", "langchain_pii_middleware", "scanner")
        },
    }
    return figures


def _print_private_facts(figures: dict[str, Any]) -> None:
    test = figures["test"]
    print(
        f"private facts typed into a request, empty store, held-out half "
        f"({test['cases']} requests, {test['units']} labelled units; "
        f"recognizer installed: {figures['ner_installed']}):"
    )
    print("  system                     leakage  over-redaction (requests / public)  blocked")
    for system in ("no_protection", "langchain_pii_middleware", "scanner_rules_only", "scanner"):
        row = test[system]
        print(
            f"  {system:<26} {row['unit_leakage']:6.1%}   {row['over_redaction_in_requests']:6.1%}"
            f" / {row['over_redaction_public_texts']:5.1%}  ({figures['public_texts']} texts)"
            f"   {row['blocked_rate']:5.1%}"
        )
    scanner = test["scanner"]
    missed = {k: f"{v:.0%}" for k, v in scanner["leakage_by_category"].items() if v}
    print(
        f"  scanner latency per request p50 {scanner['latency_ms_p50']:.1f} ms, "
        f"p95 {scanner['latency_ms_p95']:.1f} ms; still leaking by category: {missed or 'none'}"
    )
    written = figures["handwritten"]
    print(
        f"  {written['cases']} hand-written chat-style requests ({written['units']} units): "
        f"leakage no protection {written['no_protection']['unit_leakage']:.1%}, PIIMiddleware "
        f"{written['langchain_pii_middleware']['unit_leakage']:.1%}, scanner "
        f"{written['scanner']['unit_leakage']:.1%}"
    )
    print(f"  (tuning half: scanner leakage {figures['tune']['scanner']['unit_leakage']:.1%})")


def _real_only(path: Path | None) -> int:
    print("real requests (PUPA_TNB, empty store; goal <= 7.5% leakage, >= 95% words kept):")
    figures = {"real_requests": real_requests(), "tagger_sweep": tagger_sweep()}
    figures["public_requests_altered"] = altered = public_requests_altered()
    print(f"public-only requests altered: {altered['altered']}/{altered['requests']}")
    for row in altered["altered_requests"]:
        print(f"  {row['text']!r} -> {row['sent']!r}")
    if path:
        path.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--fact-cases", type=int, default=200)
    parser.add_argument(
        "--real-only",
        action="store_true",
        help="only the real requests and the public-only texts (entry privacy:real: "
        "python bench/run_all.py privacy:real -- --real-only)",
    )
    args = parser.parse_args(argv)
    if args.real_only:
        return _real_only(args.json)
    figures = {
        "benchmark": "privacy",
        "leaks": leak_rates(args.cases),
        "over_blocking": over_blocking(),
        "ngram_sweep": ngram_sweep(),
        "latency": latency(args.iterations),
        "private_facts": private_facts(args.fact_cases),
    }
    leaks, blocking, speed = figures["leaks"], figures["over_blocking"], figures["latency"]
    print(f"leak rate over {args.cases} generated cases (target 0):")
    for mode, row in leaks["per_mode"].items():
        print(
            f"  {mode:<13} {row['leak_rate']:6.1%}  ({row['leaking']}/{row['cases']} cases, "
            f"{row['requests']} requests recorded)"
        )
    print(
        f"  unsafe baseline (cloud with context): {leaks['baseline_leak_rate']:.0%} (must be 100%)"
    )
    print(f"  audit chain intact: {leaks['audit_chain_ok']}")
    print(
        f"over-blocking of {blocking['labelled_instructions']} labelled public instructions "
        f"x {blocking['users']} users: {blocking['over_blocking_rate']:.2%} (target < 5%) "
        f"{blocking['flagged_by_detector']}"
    )
    titles = blocking["user_written_titles_flagged_rate"]
    print(f"  dev-split public titles as written, flagged: {titles:.1%}")
    if figures["ngram_sweep"]:
        print("n-gram sweep (share of reference answers flagged): n, own user, other user")
        for n, row in figures["ngram_sweep"].items():
            own, other = row["own_reference_flag_rate"], row["other_reference_flag_rate"]
            print(f"  {n:>2}  {own:6.1%}  {other:6.1%}")
    print(
        f"guard latency, {speed['payload_chars']} chars vs {speed['chunks']} chunks: "
        f"scan p50 {speed['scan_ms_p50']:.2f} ms, p95 {speed['scan_ms_p95']:.2f} ms "
        f"(target < 5 ms); with audit write p95 {speed['scan_and_audit_ms_p95']:.2f} ms"
    )
    _print_private_facts(figures["private_facts"])
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
