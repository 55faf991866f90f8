"""Private facts typed into real requests, through the real detectors and an agent.

The detectors here are the real ones: the bundled MiniLM encoder with the shipped
tagger head, spaCy's recognizer and the rules. The requests are of the kinds real
requests take (lower-case names, names inside SQL, JSON and CSV, German, French and
Spanish requests with street addresses and postcodes), written for this test; a
handful of rows of the real development file (PUPA_TNB, skipped where it is absent)
are regression cases. Each goes through ``create_agent`` with ``PrivacyMiddleware``
to a recording OpenAI-compatible server, as an application sends it; the control
without the middleware shows the recorder sees the values.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from langchain_cogenesis.errors import ConfigurationError
from langchain_cogenesis.evaluation.real_requests import load_pupa, locate_units, string_leaks
from langchain_cogenesis.graphs import PrivacyMiddleware
from langchain_cogenesis.privacy import EntityDetector, PrivacyScanner, decide
from langchain_cogenesis.privacy.detection.tagger import shipped_tagger
from langchain_cogenesis.privacy.detection.tagger_training import train_tagger
from tests.cloud_servers import RecordingServer

pytestmark = pytest.mark.integration

PUPA = Path(__file__).resolve().parents[4] / "shared" / "data" / "pupa" / "PUPA_TNB.csv"

CASES = [
    # lower case, as people type
    (
        "hi, my name is tomasz and i work at brightlake logistics, write my bio for the team page",
        ["tomasz", "brightlake"],
    ),
    # inside code and data
    (
        "Fix this SQL for me: INSERT INTO staff (name, city) VALUES ('Ingrid Solberg', 'Tromsø');",
        ["Ingrid Solberg"],
    ),
    (
        'Convert this record to YAML: {"customer": "Pavel Dvořák", "email": '
        '"pavel.dvorak@example.org"}',
        ["Pavel Dvořák", "pavel.dvorak@example.org"],
    ),
    # German, French, Spanish: a name, a street address, a postcode
    (
        "Schreib eine E-Mail an Herrn Lukas Brenner, Lindenstraße 14, 80331 München, "
        "wegen meiner Diabetes-Behandlung.",
        ["Lukas Brenner", "Lindenstraße 14", "80331", "München", "Diabetes"],
    ),
    (
        "Corrige ce courriel : Bonjour Mathilde, je vous écris depuis le 12 rue des "
        "Lilas, 69003 Lyon.",
        ["Mathilde", "12 rue des Lilas", "69003", "Lyon"],
    ),
    (
        "Traduce al inglés: Hola Marisol, soy Andrés Quintero y vivo en la Calle Mayor 7, "
        "28013 Madrid.",
        ["Marisol", "Andrés Quintero", "Calle Mayor 7", "28013", "Madrid"],
    ),
]


def _agent_wire(text: str, *, protected: bool) -> str:
    with RecordingServer() as cloud:
        cloud.chat_for = lambda body: {"role": "assistant", "content": "Done."}
        model = ChatOpenAI(base_url=cloud.base_url, api_key="x", model="cloud")  # type: ignore[arg-type]
        middleware = [PrivacyMiddleware(zero_knowledge=True, audit_log=None)] if protected else []
        agent = create_agent(model, middleware=middleware)
        agent.invoke({"messages": [HumanMessage(text)]})
        assert cloud.chat_requests
        return "\n".join(json.dumps(r["body"], ensure_ascii=False) for r in cloud.requests)


def _reaches(unit: str, wire: str) -> bool:
    return string_leaks(unit, wire)


@pytest.mark.parametrize(("text", "units"), CASES)
def test_typed_private_facts_do_not_reach_the_cloud_through_an_agent(
    text: str, units: list[str]
) -> None:
    assert shipped_tagger() is not None  # the shipped weights load offline
    wire = _agent_wire(text, protected=True)
    assert [u for u in units if _reaches(u, wire)] == []
    # the request stays a request: most of its other words still go out
    others = [w for w in re.findall(r"[^\W\d_]{3,}", text) if not any(w in u for u in units)]
    assert sum(_reaches(w, wire) for w in others) >= 0.6 * len(others)
    control = _agent_wire(text, protected=False)
    assert all(_reaches(u, control) for u in units)  # the recorder sees a leak


def test_the_tagger_finds_what_the_rules_and_spacy_miss() -> None:
    text = "my name is tomasz and i work at brightlake logistics, write my bio"
    without = EntityDetector(registry=None)
    without.registry.remove("tagger")
    found_without = {h.text for h in without.find(text)}
    found = {h.text.split()[0] for h in EntityDetector().find(text)}
    assert "tomasz" not in found_without and {"tomasz", "brightlake"} <= found


def test_a_configured_tagger_that_cannot_load_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COGENESIS_TAGGER", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigurationError, match="COGENESIS_TAGGER"):
        EntityDetector()


def test_training_is_reproducible_and_the_weights_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("faker")
    first = train_tagger(tmp_path / "a", synthetic=24, public=8, epochs=1, seed=3)
    train_tagger(tmp_path / "b", synthetic=24, public=8, epochs=1, seed=3)
    assert first["synthetic_requests"] == 24 and first["lines"] > 24
    a = (tmp_path / "a" / "head.safetensors").read_bytes()
    assert a == (tmp_path / "b" / "head.safetensors").read_bytes()
    monkeypatch.setenv("COGENESIS_TAGGER", str(tmp_path / "a"))
    assert shipped_tagger() is not None  # a trained folder plugs in by path
    assert PrivacyScanner().scan("write to my sister Wenonah")


# rows of the development file, by their conversation hash: regression cases
REGRESSION_ROWS = (
    "fbee839cf665ad4116da2303f17be0fd",  # names in an e-mail to rewrite
    "54a53897ca5492d335e4fe3e84265e63",  # a name and a country in a message
    "4b6e0c20eeb51897607992ba5f8b3051",  # a Dutch name with a particle
    "3af15d0beab0d61f33bfcc83162e981f",  # names in a quoted dialogue
)


@pytest.mark.skipif(not PUPA.exists(), reason="the development file is beside the checkout only")
def test_real_rows_of_the_development_file_stay_protected() -> None:
    with PUPA.open(encoding="utf-8", newline="") as handle:
        rows = {r["conversation_hash"]: r for r in csv.DictReader(handle)}
    scanner = PrivacyScanner()
    for key in REGRESSION_ROWS:
        row = rows[key]
        units = locate_units(row["user_query"], row["pii_units"].split("||"))
        assert units, key
        decision = decide([("user", row["user_query"])], scanner)
        sent = decision.outbound[0][1]
        assert decision.sendable and not [u.text for u in units if string_leaks(u.text, sent)]
    # the loader keeps the halves apart and skips placeholder units
    heldout, train = load_pupa(PUPA, half="heldout"), load_pupa(PUPA, half="train")
    assert not {c.text for c in heldout.cases} & {c.text for c in train.cases}
    assert heldout.skipped_placeholder_units + train.skipped_placeholder_units > 0
