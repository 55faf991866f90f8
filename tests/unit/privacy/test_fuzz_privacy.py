"""Property-based checks of the schema and the leak detectors (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from langchain_cogenesis.errors import InvalidInstruction
from langchain_cogenesis.privacy import PrivacyScanner, restore
from langchain_cogenesis.schema import ContextAwareInstruction

WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
SECRET_WORDS = st.lists(
    st.from_regex(r"[A-Z][a-z]{3,9}", fullmatch=True), min_size=6, max_size=9
).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(public=st.text(max_size=300), private=st.text(max_size=300))
def test_any_text_is_a_valid_instruction_or_a_typed_error(public: str, private: str) -> None:
    try:
        instruction = ContextAwareInstruction(
            public_instruction=public, private_instruction=private
        )
    except (InvalidInstruction, ValidationError):
        return
    assert instruction.public_instruction.strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=SECRET_WORDS, before=WORDS, after=WORDS)
def test_redaction_removes_every_hit_and_restores_locally(
    secret: str, before: str, after: str
) -> None:
    scanner = PrivacyScanner([secret])
    text = f"{before} {secret} {after}"
    assert scanner.scan(text), "a private sentence sent verbatim must be found"
    clean, mapping = scanner.redact(text)
    assert scanner.scan(clean) == []
    assert secret not in clean
    assert restore(clean, mapping) == text


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=500))
def test_the_scanner_never_fails_on_any_text(text: str) -> None:
    scanner = PrivacyScanner(
        ["Maya owes 1,840 dollars on the garden card"], canaries=["CANARY-7f3a"]
    )
    hits = scanner.scan(text)
    assert all(0 <= hit.start <= hit.end <= len(text) for hit in hits)
