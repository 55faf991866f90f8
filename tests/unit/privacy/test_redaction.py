"""Typed, keyed placeholders: the sentence is kept, the values come back on the device."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage

from langchain_cogenesis.privacy import PrivacyScanner, decide
from langchain_cogenesis.privacy.detection.detectors import Hit
from langchain_cogenesis.privacy.detection.splitter import (
    FALLBACK_PUBLIC,
    sentences,
    split_instruction,
    split_request,
)
from langchain_cogenesis.privacy.keys import keyed_digest
from langchain_cogenesis.privacy.redaction import placeholders as redaction_module
from langchain_cogenesis.privacy.redaction.placeholders import (
    PLACEHOLDER_PATTERN,
    StreamRestorer,
    placeholder_type,
    redact_spans,
    restore,
    typed_spans,
)
from langchain_cogenesis.privacy.redaction.restoration import (
    MessageStreamRestorer,
    RestoredValueDetector,
    restore_message,
    restore_value,
)
from tests.conftest import PAPER_DEV_SPLIT

REPO = Path(__file__).resolve().parents[3]
INVITATION = (
    "Write an invitation to Lila Moss's piano recital at Ostwick Hall on 14 December, "
    "noting I may step out to check my Omnipod."
)
SECRET_A, SECRET_B = b"a" * 32, b"b" * 32


def hits_for(text: str, **spans: str) -> list[Hit]:
    """One hit per ``detector=value`` (``entity_PERSON`` stands for ``entity:PERSON``)."""
    found = []
    for detector, value in spans.items():
        start = text.index(value)
        found.append(Hit(start, start + len(value), detector.replace("_", ":", 1), value))
    return found


def test_typed_placeholders_keep_the_sentence() -> None:
    hits = hits_for(
        INVITATION,
        entity_PERSON="Lila Moss",
        entity_PLACE="Ostwick Hall",
        entity_DATE="14 December",
        entity_HEALTH="Omnipod",
    )
    clean, mapping = redact_spans(INVITATION, hits)
    assert re.fullmatch(
        r"Write an invitation to \[PERSON_[0-9a-f]{4}\]'s piano recital at "
        r"\[PLACE_[0-9a-f]{4}\] on \[DATE_[0-9a-f]{4}\], noting I may step out to check "
        r"my \[HEALTH_[0-9a-f]{4}\]\.",
        clean,
    ), clean
    assert sorted(mapping.values()) == ["14 December", "Lila Moss", "Omnipod", "Ostwick Hall"]
    assert restore(clean, mapping) == INVITATION


def test_the_real_scanner_keeps_the_public_words_of_the_invitation() -> None:
    scanner = PrivacyScanner(
        ["Lila practises at Ostwick Hall; her Omnipod alarm"], names=["Lila Moss"]
    )
    clean, mapping = scanner.redact(INVITATION)
    for private in ("Lila", "Moss", "Ostwick", "Omnipod"):
        assert private not in clean
    for public in ("Write an invitation to", "piano recital", "noting I may step out"):
        assert public in clean
    assert re.search(r"\[PERSON_[0-9a-f]{4}\]'s piano recital", clean)
    assert restore(clean, mapping) == INVITATION
    assert scanner.scan(clean) == []  # the placeholders are never flagged themselves


@pytest.mark.parametrize(
    ("detector", "kind"),
    [
        ("pii:name", "PERSON"),
        ("entity:PERSON", "PERSON"),
        ("pii:address", "PLACE"),
        ("entity:PLACE", "PLACE"),
        ("private_date", "DATE"),
        ("pii:date_of_birth", "DATE"),
        ("entity:DATE", "DATE"),
        ("pii:email", "EMAIL"),
        ("pii:phone", "PHONE"),
        ("pii:card", "ACCOUNT"),
        ("pii:iban", "ACCOUNT"),
        ("entity:MONEY", "MONEY"),
        ("entity:HEALTH", "HEALTH"),
        ("entity:CREDENTIAL", "CREDENTIAL"),
        ("entity:ORG", "ORG"),
        ("ngram", "PRIVATE"),
        ("rare_token", "PRIVATE"),
        ("canary", "PRIVATE"),
        ("restored:PLACE", "PLACE"),
        ("something-else", "PRIVATE"),
        ("entity:not-a-type", "PRIVATE"),
    ],
)
def test_placeholder_type_of_each_detector(detector: str, kind: str) -> None:
    assert placeholder_type(detector) == kind


def test_overlapping_spans_take_the_most_specific_type_that_covers_them() -> None:
    text = "mail lena@example.org or Lena Fischer owes 1,840 dollars to Brightwater"
    email = text.index("lena@")
    name = text.index("Lena F")
    debt = text.index("1,840")
    hits = [
        Hit(email, email + 16, "rare_token", ""),
        Hit(email, email + 16, "pii:email", ""),
        Hit(email, email + 16, "entity:CONTACT", ""),
        Hit(name, name + 12, "entity:PERSON", ""),
        Hit(name, name + 12, "entity:ORG", ""),  # as long: PERSON is the more specific
        Hit(name, debt + 13, "ngram", ""),  # a long private phrase around the name
        Hit(debt, debt + 3, "rare_token", ""),  # part of a number: widened to all of it
    ]
    spans = typed_spans(text, hits)
    assert [(text[s.start : s.end], s.kind) for s in spans] == [
        ("lena@example.org", "EMAIL"),
        ("Lena Fischer owes 1,840 dollars", "PRIVATE"),  # a name in 12 of 31 chars
    ]
    [person] = typed_spans(text, hits[3:5])
    assert person.kind == "PERSON"
    [number] = typed_spans(text, [Hit(debt + 2, debt + 5, "rare_token", "840")])
    assert text[number.start : number.end] == "1,840"


def test_keyed_stable_within_an_install_and_unlinkable_across_installs() -> None:
    text = "Invite Lila Moss"
    hits = hits_for(text, pii_name="Lila Moss")
    later = f"Later: {text}"
    first, mapping_a = redact_spans(text, hits, secret=SECRET_A)
    again, _ = redact_spans(later, hits_for(later, pii_name="Lila Moss"), secret=SECRET_A)
    _, mapping_b = redact_spans(text, hits, secret=SECRET_B)
    [placeholder_a] = mapping_a
    [placeholder_b] = mapping_b
    digest = keyed_digest("Lila Moss", purpose="placeholder", length=4, secret=SECRET_A)
    assert placeholder_a == f"[PERSON_{digest}]"
    assert placeholder_a in again  # same value, same install: same placeholder, every turn
    assert placeholder_b != placeholder_a  # another install: another placeholder
    # the default key is this install's secret (COGENESIS_HOME), the same on every call
    scanner = PrivacyScanner(names=["Lila Moss"])
    assert scanner.redact(text)[0] == scanner.redact(text)[0]
    assert scanner.redact(text, secret=SECRET_A)[0] == first


def fixed_short_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every value gets the same four-digit digest: every mapping collides."""

    def digest(text: str, *, purpose: str, length: int = 8, secret: bytes | None = None) -> str:
        real = keyed_digest(text, purpose=purpose, length=length, secret=secret)
        return "abcd" if length == 4 else real

    monkeypatch.setattr(redaction_module, "keyed_digest", digest)


def test_collisions_get_a_longer_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed_short_digest(monkeypatch)
    text = "Lila Moss met Nora Lind and Lila Moss"
    hits = [*hits_for(text, pii_name="Lila Moss", entity_PERSON="Nora Lind")]
    hits.append(Hit(28, 37, "pii:name", "Lila Moss"))
    clean, mapping = redact_spans(text, hits, secret=SECRET_A)
    longer = keyed_digest("Nora Lind", purpose="placeholder", length=6, secret=SECRET_A)
    assert list(mapping) == ["[PERSON_abcd]", f"[PERSON_{longer}]"]
    assert clean.count("[PERSON_abcd]") == 2  # the same value keeps its placeholder
    assert restore(clean, mapping) == text
    # across the messages of one payload, decide() passes what it gave out so far
    scanner = PrivacyScanner(names=["Lila Moss", "Nora Lind"])
    verdict = decide([("system", "For Lila Moss"), ("human", "and Nora Lind")], scanner)
    assert verdict.decision == "redacted" and len(verdict.redactions) == 2
    assert [restore(t, verdict.redactions) for _, t in verdict.outbound] == [
        "For Lila Moss",
        "and Nora Lind",
    ]


def test_a_placeholder_already_in_the_text_is_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    fixed_short_digest(monkeypatch)
    for literal in ("[PERSON_abcd]", "person_ABCD", "PERSON\\_abcd"):
        text = f"Quote {literal} for Lila Moss"
        clean, mapping = redact_spans(text, hits_for(text, pii_name="Lila Moss"))
        [placeholder] = mapping
        assert placeholder != "[PERSON_abcd]"
        assert restore(clean, mapping) == text


def test_tolerant_restore_and_what_stays_as_it_is() -> None:
    mapping = {"[PERSON_3f9a]": "Lila Moss", "[DATE_2024]": "14 December"}
    assert restore("Dear [person_3F9A],", mapping) == "Dear Lila Moss,"
    assert restore("Dear PERSON_3f9a,", mapping) == "Dear Lila Moss,"
    assert restore("Dear [PERSON_3f9a and", mapping) == "Dear Lila Moss and"
    assert restore("Dear PERSON\\_3f9a!", mapping) == "Dear Lila Moss!"
    assert restore("(PERSON_3f9a)", mapping) == "(Lila Moss)"
    assert restore("on DATE_2024.", mapping) == "on 14 December."
    for unchanged in (
        "Date 2024 was a good year",  # no underscore: ordinary text
        "[PERSON_3f9b]",  # another suffix
        "[PERSON_3f9]",  # a shortened suffix
        "[PLACE_3f9a]",  # another type
        "[PERSON 3f9a]",
        "XPERSON_3f9a",  # glued to a word
        "[PERSON_3f9ab]",
    ):
        assert restore(unchanged, mapping) == unchanged


def test_restored_values_go_out_again_as_the_same_placeholder() -> None:
    # turn 1: the request names a private place; the cloud's answer echoes it
    turn_one = PrivacyScanner(canaries=["the blue heron cottage"])
    request = "Write a housewarming card for the blue heron cottage"
    verdict = decide([("human", request)], turn_one)
    answer = restore(f"Welcome to {next(iter(verdict.redactions))}!", verdict.redactions)
    assert answer == "Welcome to the blue heron cottage!"
    # turn 2: a scanner that knows nothing of it, plus the values restored so far
    later = PrivacyScanner()
    assert later.scan(answer) == []  # alone, it would send the value verbatim
    later.detectors.append(RestoredValueDetector(verdict.redactions))
    second = decide([("ai", answer), ("human", "Now a shorter one")], later)
    assert "heron" not in second.payload_text()
    assert set(second.redactions) == set(verdict.redactions)  # the same placeholder again
    assert RestoredValueDetector({"[PERSON_abcd]": "Al"}).find("Al is here") == []  # too short


TEXT_WITH_PLACEHOLDERS = "Dear [PERSON_3f9a], see you at [PLACE_0c41]; PERSON_3f9a's [ok]"
STREAM_MAPPING = {"[PERSON_3f9a]": "Lila Moss", "[PLACE_0c41]": 'Ostwick "Hall"'}


def stream(restorer: StreamRestorer, chunks: list[str]) -> str:
    return "".join(restorer.feed(chunk) for chunk in chunks) + restorer.flush()


def test_stream_restorer_at_every_split_position() -> None:
    whole = restore(TEXT_WITH_PLACEHOLDERS, STREAM_MAPPING)
    assert "Lila Moss" in whole and "PERSON" not in whole
    for cut in range(len(TEXT_WITH_PLACEHOLDERS) + 1):
        for second in range(cut, len(TEXT_WITH_PLACEHOLDERS) + 1, 7):
            chunks = [
                TEXT_WITH_PLACEHOLDERS[:cut],
                TEXT_WITH_PLACEHOLDERS[cut:second],
                TEXT_WITH_PLACEHOLDERS[second:],
            ]
            assert stream(StreamRestorer(STREAM_MAPPING), chunks) == whole, chunks


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.integers(0, len(TEXT_WITH_PLACEHOLDERS)), max_size=8))
def test_stream_restorer_with_any_chunking(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(TEXT_WITH_PLACEHOLDERS)]
    chunks = [TEXT_WITH_PLACEHOLDERS[a:b] for a, b in itertools.pairwise(bounds)]
    restorer = StreamRestorer(STREAM_MAPPING)
    assert stream(restorer, chunks) == restore(TEXT_WITH_PLACEHOLDERS, STREAM_MAPPING)


def test_stream_restorer_delays_only_a_possible_placeholder() -> None:
    restorer = StreamRestorer(STREAM_MAPPING)
    assert restorer.feed("Hello there, the recital is at ") == "Hello there, the recital is at "
    assert restorer.feed("8 pm. Dear [PER") == "8 pm. Dear "
    assert restorer.held == "[PER"
    assert restorer.feed("SON_3f9a") == ""  # complete, but a closing bracket may follow
    assert restorer.feed("], welcome") == "Lila Moss, welcome"
    assert restorer.feed(" to [notes]") == " to [notes]"
    assert restorer.feed(" Place") == " "  # may be the start of PLACE_0c41
    assert restorer.feed("s to go") == "Places to go"
    assert restorer.flush() == ""
    assert StreamRestorer({}).feed("[PER") == "[PER"  # nothing to restore: nothing held


def test_tool_call_arguments_are_restored() -> None:
    mapping = {"[PERSON_3f9a]": 'Lila "Lil" Moss', "[PLACE_0c41]": "Ostwick Hall"}
    raw_args = json.dumps({"to": "[PERSON_3f9a]", "where": "PLACE_0c41"})
    message = AIMessage(
        content=[{"type": "text", "text": "Sending to [PERSON_3f9a]"}],
        tool_calls=[
            {
                "name": "send_invitation",
                "args": {"to": "[PERSON_3f9a]", "body": {"lines": ["at [PLACE_0c41]", 3]}},
                "id": "call-1",
            }
        ],
        invalid_tool_calls=[
            {"name": "x", "args": '{"to": "[PERSON_3f9a]"', "id": "call-2", "error": "cut"}
        ],
        additional_kwargs={
            "tool_calls": [{"id": "call-1", "function": {"name": "f", "arguments": raw_args}}]
        },
    )
    restored = restore_message(message, mapping)
    assert isinstance(restored, AIMessage)
    assert restored.content == [{"type": "text", "text": 'Sending to Lila "Lil" Moss'}]
    assert restored.tool_calls[0]["args"] == {
        "to": 'Lila "Lil" Moss',
        "body": {"lines": ["at Ostwick Hall", 3]},
    }
    assert restored.invalid_tool_calls[0]["args"] == '{"to": "Lila \\"Lil\\" Moss"'
    arguments = restored.additional_kwargs["tool_calls"][0]["function"]["arguments"]
    assert json.loads(arguments) == {"to": 'Lila "Lil" Moss', "where": "Ostwick Hall"}
    assert message.tool_calls[0]["args"]["to"] == "[PERSON_3f9a]"  # a copy, not in place
    tool_result = restore_message(ToolMessage("sent to [PERSON_3f9a]", tool_call_id="c"), mapping)
    assert tool_result.content == 'sent to Lila "Lil" Moss'
    assert restore_value(("[PLACE_0c41]", {"args": '"[PLACE_0c41]"'}), mapping) == (
        "Ostwick Hall",
        {"args": '"Ostwick Hall"'},
    )


def test_streamed_tool_call_chunks_are_restored_at_every_split() -> None:
    mapping = {"[PERSON_3f9a]": 'Lila "Lil" Moss'}
    args = json.dumps({"to": "[PERSON_3f9a]", "note": "for [PERSON_3f9a]"})
    text = "Inviting [PERSON_3f9a] now"
    for cut in range(len(args) + 1):
        restorer = MessageStreamRestorer(mapping)
        text_cut = cut % (len(text) + 1)
        chunks = [
            AIMessageChunk(
                content=text[:text_cut],
                tool_call_chunks=[{"name": "send", "args": args[:cut], "id": "c1", "index": 0}],
                id="run-1",
            ),
            AIMessageChunk(
                content=text[text_cut:],
                tool_call_chunks=[{"name": None, "args": args[cut:], "id": None, "index": 0}],
            ),
        ]
        out = [restorer.feed(chunk) for chunk in chunks]
        last = restorer.flush()
        total: Any = out[0] + out[1] + last if last is not None else out[0] + out[1]
        assert total.content == 'Inviting Lila "Lil" Moss now' and total.id == "run-1"
        assert total.tool_calls[0]["args"] == {
            "to": 'Lila "Lil" Moss',
            "note": 'for Lila "Lil" Moss',
        }, cut


SECRET_WORDS = st.lists(st.from_regex(r"[A-Z][a-z]{3,9}", fullmatch=True), min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=120),
    spans=st.lists(
        st.tuples(
            st.integers(0, 120),
            st.integers(0, 30),
            st.sampled_from(["pii:name", "entity:PLACE", "ngram", "canary", "entity:MONEY"]),
        ),
        max_size=6,
    ),
)
def test_restore_of_redact_is_exact_for_any_text_and_spans(
    text: str, spans: list[tuple[int, int, str]]
) -> None:
    hits = [
        Hit(min(start, len(text)), min(start + size, len(text)), detector, "")
        for start, size, detector in spans
    ]
    clean, mapping = redact_spans(text, hits, secret=SECRET_A)
    assert restore(clean, mapping) == text
    assert all(PLACEHOLDER_PATTERN.fullmatch(key) for key in mapping)
    restorer = StreamRestorer(mapping)
    middle = len(clean) // 2
    assert stream(restorer, [clean[:middle], clean[middle:]]) == text


# --- the splitter --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Write a thank-you note to Dr. Vesterhus for fixing my ACL. He was kind.", 2),
        ("Mr. and Mrs. Smith live on St. Mary's Road. Ms. Lind does not.", 2),
        ("Bring fruit, e.g. apples, i.e. something sweet. Thanks!", 2),
        ("Pens, paper, etc. and a desk vs. a table at No. 5 Elm Lane. Done.", 2),
        ("A talk on J. R. R. Tolkien. Then lunch.", 2),
        ("It starts at 10 a.m. sharp! Who comes? Me…  You too.", 4),
        ('She said "Go." Then left.', 2),
    ],
)
def test_sentences_are_not_cut_at_abbreviations(text: str, count: int) -> None:
    assert len(sentences(text)) == count, sentences(text)
    assert " ".join(sentences(text)).split() == text.split()


def test_the_splitter_keeps_the_sentence_after_an_abbreviation() -> None:
    scanner = PrivacyScanner(["Vesterhus repaired the ligament"], names=["Anders Vesterhus"])
    text = "Write a thank-you note to Dr. Vesterhus for fixing my ACL. Keep it warm."
    split = split_request(text, scanner)
    public = split.instruction.public_instruction
    assert public != "Write a thank-you note to Dr."
    assert public.startswith("Write a thank-you note to ") and "[PERSON_" in public
    assert "Vesterhus" not in public and "for fixing my" in public
    assert public.endswith(". Keep it warm.")
    assert split.instruction.private_instruction == (
        "Write a thank-you note to Dr. Vesterhus for fixing my ACL."
    )
    assert restore(public, split.redactions) == text


ELAINE = (
    "Given her interest in wine and 'Wine Wednesday' tradition, Elaine could prepare a "
    "sophisticated presentation for her book club, prepare a presentation on the cultural "
    "significance of wine."
)


def test_a_request_phrased_personal_part_first_keeps_its_public_content() -> None:
    scanner = PrivacyScanner(names=["Elaine Porter"], canaries=["Wine Wednesday"])
    split = split_request(ELAINE, scanner)
    public = split.instruction.public_instruction
    assert split.method == "redacted"
    assert "Elaine" not in public and "Wednesday" not in public
    assert "prepare a presentation on the cultural significance of wine." in public
    assert public.startswith("Given her interest in wine and '")
    assert split.instruction.private_instruction == ELAINE  # the local model sees it all
    assert restore(public, split.redactions) == ELAINE


def test_the_paper_format_and_the_fallback() -> None:
    scanner = PrivacyScanner(["Lila Moss plays at Ostwick Hall"], names=["Lila Moss"])
    paper = split_request("Write a recital invitation: Lila Moss plays at Ostwick Hall", scanner)
    assert paper.method == "colon"
    assert paper.instruction.public_instruction == "Write a recital invitation"
    assert paper.instruction.private_instruction == "Lila Moss plays at Ostwick Hall"
    # a flagged head that still says what to write: redacted, the personal part stays
    flagged = "Invitation to Lila Moss's piano recital: she plays at Ostwick Hall"
    redacted_head = split_request(flagged, scanner)
    assert redacted_head.method == "colon"
    assert re.fullmatch(
        r"Invitation to \[PERSON_[0-9a-f]{4,}\]'s piano recital",
        redacted_head.instruction.public_instruction,
    )
    assert redacted_head.instruction.private_instruction == flagged
    # a head that says nothing once redacted: the whole request, redacted
    head = split_request("Lila Moss's recital: write an invitation for friends", scanner)
    assert head.method == "redacted"
    assert head.instruction.public_instruction.endswith(": write an invitation for friends")
    # a time is not a colon split
    timed = split_request("Remind the choir that we meet at 10:30 to sing", scanner)
    assert timed.method != "colon"
    assert timed.instruction.public_instruction.startswith("Remind the choir that we meet at")
    nothing_left = split_instruction("Lila Moss, Ostwick Hall", scanner)
    assert nothing_left.public_instruction == FALLBACK_PUBLIC


def test_the_graph_sends_a_split_request_redacted_and_restores_the_sketch() -> None:
    from langchain_cogenesis.graphs import run_sketch_graph
    from langchain_cogenesis.graphs.scanners import private_index
    from tests.cloud_servers import RecordingServer
    from tests.unit.graphs.test_sketch_graph import make_components

    text = "Since Maya owes 1,840 dollars for the raised beds, write a kind reminder to her"
    store = make_components(None).store
    expected = split_request(text, PrivacyScanner(index=private_index(store, "maya")))  # type: ignore[arg-type]
    assert expected.method == "redacted" and expected.redactions
    echo = "1. Mention " + " and ".join(expected.redactions)  # the cloud echoes them
    with RecordingServer(reply=echo) as server:
        result = run_sketch_graph(make_components(server), {"user_id": "maya", "instruction": text})
        wire = server.all_bytes().decode()
    assert expected.instruction.public_instruction in wire  # the sentence, spans replaced
    assert "1,840" not in wire and "Maya" not in wire
    assert result.sketch is not None and "Maya owes 1,840 dollars" in result.sketch.text


@pytest.mark.integration  # the benchmarks' smoke tests run in the slow tier
def test_redaction_bench_smoke(tmp_path: Path) -> None:
    out = tmp_path / "redaction.json"
    done = subprocess.run(
        [sys.executable, "bench/redaction.py", "--users", "6", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert "public words reaching the cloud" in done.stdout
    for phrasing in ("general: personal", "personal part first"):
        row = figures["phrasings"][phrasing]["redact"]
        # six users of the dev split, or every demo user where it is absent (a user's clone)
        assert row["requests"] == figures["users"] == (6 if PAPER_DEV_SPLIT.exists() else 3)
        assert 0.0 <= row["public_words_kept"] <= 1.0
        assert row["private_units"] >= row["private_units_leaked"] >= 0
    assert figures["examples"]


# --- through the real sketch graph -----------------------------------------------------


@pytest.mark.integration
def test_the_real_cloud_sees_typed_placeholders_and_the_answer_gets_the_values(
    tmp_path: Path, model_path: Path, standin: Any
) -> None:
    from langchain_cogenesis.graphs import Components, run_sketch_graph
    from langchain_cogenesis.models import ChatLocalLlama
    from langchain_cogenesis.privacy import EgressGuard
    from langchain_cogenesis.retrievers import PrivateStore
    from langchain_cogenesis.schema import UserContext, UserProfile
    from tests.cloud_servers import RecordingServer

    store = PrivateStore(tmp_path / "store")
    store.add_user_context(
        UserContext(
            user_id="lila",
            profile=UserProfile(name="Lila Moss"),
            private_details=["Lila Moss plays piano at Ostwick Hall", "Wears an Omnipod pump"],
        )
    )
    placeholder = re.compile(r"\[(?:PERSON|PLACE|DATE)_[0-9a-f]{4,}\]")
    with RecordingServer(upstream=standin.base_url) as recorder:
        components = Components(
            store=store,
            local_model=ChatLocalLlama(model_path=model_path, max_tokens=16, seed=11),
            egress_guard=EgressGuard(
                base_url=recorder.base_url, model=standin.model, send_max_tokens=True
            ),
            k=2,
            sketch_max_tokens=24,
            answer_max_tokens=24,
        )
        sketched = run_sketch_graph(
            components,
            {
                "user_id": "lila",
                "public_instruction": INVITATION.split(", noting")[0],
                "private_instruction": "I may step out to check my Omnipod.",
                "mode": "sketch",
            },
        )
        assert sketched.answer.strip()  # the local model wrote from the restored sketch
        # the tiny stand-in samples (temperature 0.7) and echoes the placeholder exactly in
        # about half of its replies to this request (measured: 8 of 16); a garbled one is
        # left as it is, so ask up to twelve times (all twelve missing: about 1 in 4,000)
        restored = []
        for _ in range(12):
            answer = run_sketch_graph(
                components,
                {
                    "user_id": "lila",
                    "public_instruction": (
                        "Write a letter to Lila Moss. Start with: Dear Lila Moss,"
                    ),
                    "mode": "cloud-public",
                },
            ).answer
            restored.append("Lila Moss" in answer)
            if restored[-1]:
                break
        wire = recorder.all_bytes().decode("utf-8")
    sent = set(placeholder.findall(wire))
    assert {p.split("_")[0] for p in sent} == {"[PERSON", "[PLACE", "[DATE"}, wire[-400:]
    assert "piano recital" in wire  # the sentence went out, only the spans were replaced
    for private in ("Lila", "Moss", "Ostwick", "14 December", "Omnipod"):
        assert private not in wire
    for text in (sketched.answer, sketched.sketch.text if sketched.sketch else "", answer):
        assert not sent & set(placeholder.findall(text))  # every echoed placeholder restored
    # "Lila Moss" never crossed the wire: only restoration on the device puts it there
    assert any(restored), "the stand-in never echoed the placeholder exactly"
