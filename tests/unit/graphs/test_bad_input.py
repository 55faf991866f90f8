"""Bad input, fuzzed: each case is a typed error or a documented behaviour, and nothing
stored is lost or sent."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import Field

from langchain_cogenesis.errors import (
    ConfigurationError,
    InvalidInstruction,
    LocalModelError,
    SourceFileError,
)
from langchain_cogenesis.graphs import Components, run_sketch_graph
from langchain_cogenesis.graphs.messages import fit_context
from langchain_cogenesis.retrievers.loaders import SUFFIXES, load_source
from langchain_cogenesis.schema import ContextAwareInstruction
from tests.cloud_servers import RecordingServer
from tests.leak_harness import MemoryStore
from tests.unit.graphs.test_sketch_graph import REQUEST, make_components

MEGABYTE = "Write a toast about the garden. " * 33_000


@pytest.mark.parametrize(
    "request_parts",
    [
        {"public_instruction": MEGABYTE},
        {"instruction": MEGABYTE},
        {"public_instruction": "Write a note", "private_instruction": MEGABYTE},
        {"public_instruction": "Write a note \udcff"},  # bytes that were not UTF-8
        {"instruction": "Write \udc80\udcfe a note"},
        {"public_instruction": " \t\n "},
        {"instruction": "\x00\x01\x1b\x7f"},  # control characters only
    ],
    ids=["1MB public", "1MB one-part", "1MB private", "invalid utf-8", "invalid utf-8 one-part",
         "whitespace", "control only"],
)  # fmt: skip
def test_bad_instructions_are_refused_before_anything_is_sent(request_parts: Any) -> None:
    with (
        RecordingServer() as server,
        pytest.raises(InvalidInstruction, match="Invalid instruction"),
    ):
        run_sketch_graph(make_components(server), {"user_id": "maya", **request_parts})
    assert server.requests == []


def test_control_characters_are_removed_and_newlines_kept() -> None:
    instruction = ContextAwareInstruction(
        public_instruction="Write\x00 a\x1b[1m toast\r\nfor\tthe garden\x7f",
        private_instruction="\x07mention Halvorsen",
    )
    assert instruction.public_instruction == "Write a[1m toast\nfor\tthe garden"
    assert instruction.private_instruction == "mention Halvorsen"


@given(text=st.text(alphabet=st.characters(codec=None), max_size=200))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_any_code_points_make_a_clean_instruction_or_a_typed_error(text: str) -> None:
    try:
        instruction = ContextAwareInstruction(public_instruction=text)
    except ValueError as error:
        assert "public instruction" in str(error)
        return
    cleaned = instruction.public_instruction
    cleaned.encode("utf-8")  # always encodable: it can be sent
    assert cleaned and cleaned == cleaned.strip()
    assert not any(ord(c) < 32 and c not in "\n\t" for c in cleaned)


@pytest.mark.parametrize(
    "setting",
    [{"k": 0}, {"k": -3}, {"sketch_max_tokens": 0}, {"answer_max_tokens": -1},
     {"fusion_max_tokens": 0}, {"fusion_draft": -1}, {"first_k": -2}],
)  # fmt: skip
def test_out_of_range_settings_are_typed_errors(setting: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(setting))):
        Components(**setting)  # type: ignore[arg-type]
    assert issubclass(ConfigurationError, ValueError)


@given(data=st.binary(max_size=2_000), suffix=st.sampled_from(sorted(SUFFIXES)))
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_loaders_read_any_bytes_or_raise_a_typed_error(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"source{suffix}"
        path.write_bytes(data)
        try:
            documents = load_source(path)
        except SourceFileError as error:
            assert str(path) in str(error)
            return
    assert all(isinstance(d, Document) and d.page_content.strip() for d in documents)


@pytest.mark.parametrize(
    "payload",
    [b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, b"\x00" * 4096, b"PK\x03\x04" + b"\xff" * 900],
    ids=["png", "zeros", "zip"],
)
def test_binary_files_are_refused_by_every_text_loader(payload: bytes, tmp_path: Path) -> None:
    for suffix in sorted(SUFFIXES):
        path = tmp_path / f"file{suffix}"
        path.write_bytes(payload)
        with pytest.raises(SourceFileError):
            load_source(path)


# -- private context beyond the local model's window -------------------------------


class WindowedModel(GenericFakeChatModel):
    """A fake local model with a window: counts one token per word of the prompt."""

    n_ctx: int = 200
    max_tokens: int = 50
    prompts: list[str] = Field(default_factory=list)

    def get_num_tokens_from_messages(self, messages: list[BaseMessage], tools: Any = None) -> int:
        return sum(len(str(m.content).split()) for m in messages)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.prompts.append("\n".join(str(m.content) for m in messages))
        return super()._generate(messages, *args, **kwargs)


def long_context_store() -> MemoryStore:
    chunks = [
        Document(f"Chunk {rank}: " + " ".join(f"word{rank}" for _ in range(40)),
                 metadata={"kind": "note"})
        for rank in range(8)
    ]  # fmt: skip
    return MemoryStore({"maya": chunks})


def test_context_beyond_the_window_is_trimmed_least_relevant_first() -> None:
    model = WindowedModel(messages=iter([AIMessage("A fitted answer.")]))
    components = Components(store=long_context_store(), local_model=model, k=8)  # type: ignore[arg-type]
    result = run_sketch_graph(components, {**REQUEST, "mode": "local"})
    assert result.answer == "A fitted answer."
    kept, dropped = result.context_used, result.context_dropped
    assert kept and dropped and len(kept) + len(dropped) == 8
    assert [c.split(":")[0] for c in kept] == [f"Chunk {r}" for r in range(len(kept))]
    assert [c.split(":")[0] for c in dropped] == [f"Chunk {r}" for r in range(len(kept), 8)]
    assert "Chunk 0" in model.prompts[-1] and f"Chunk {len(kept)}:" not in model.prompts[-1]


def test_everything_fits_when_the_window_is_large() -> None:
    model = WindowedModel(messages=iter([AIMessage("ok")]), n_ctx=10_000)
    components = Components(store=long_context_store(), local_model=model, k=8)  # type: ignore[arg-type]
    result = run_sketch_graph(components, {**REQUEST, "mode": "local"})
    assert len(result.context_used) == 8 and result.context_dropped == []


def test_an_instruction_that_alone_overflows_the_window_is_a_typed_error() -> None:
    state: Any = {**REQUEST, "context": [Document("a b c")], "mode": "local"}
    with pytest.raises(LocalModelError, match="n_ctx"):
        fit_context(state, lambda messages: 10_000, 4096, 512)
    kept, dropped = fit_context(state, lambda messages: 10, 4096, 512)
    assert len(kept) == 1 and dropped == []
