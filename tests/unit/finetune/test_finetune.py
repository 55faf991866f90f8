"""Fine-tuning logic on a tiny Gemma 3 built from a config (no weights read or fetched)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document

from langchain_cogenesis.data.dataset import DatasetRow, train_dev
from langchain_cogenesis.errors import ConfigurationError
from langchain_cogenesis.finetune import LoraSettings, build_examples, finetune
from langchain_cogenesis.finetune.examples import TrainingExample, ask_sketches, sketch_key
from langchain_cogenesis.graphs.messages import local_messages
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.prompts import TURN_END, chat_text
from langchain_cogenesis.schema import ContextAwareInstruction, ContextAwareTask, UserContext
from tests.cloud_servers import RecordingServer
from tests.leak_harness import MemoryStore

pytest.importorskip("peft", reason="the train extra is installed by `make test`")
gguf = pytest.importorskip("gguf", reason="the train extra is installed by `make test`")

INSTRUCTION = ContextAwareInstruction(
    public_instruction="Write a thank-you note to the garden volunteers",
    private_instruction="mention Mr. Halvorsen's raised beds",
)


def maya_row(split: str = "train", reference: str = "Dear friends, thank you.") -> DatasetRow:
    return DatasetRow(
        context=UserContext(user_id="maya"),
        tasks=[ContextAwareTask(instruction=INSTRUCTION, reference=reference)],
        split=split,  # type: ignore[arg-type]
    )


def maya_store() -> MemoryStore:
    return MemoryStore(
        {
            "maya": [
                Document("Maya owes 1,840 dollars", metadata={"kind": "private_detail"}),
                Document(
                    "Tomatoes taught me patience.", metadata={"kind": "writing", "title": "T"}
                ),
            ]
        }
    )


def test_training_prompts_are_the_prompts_of_the_graph() -> None:
    store = maya_store()
    [example] = build_examples([maya_row()], store, k=2)  # type: ignore[arg-type]
    state: Any = {
        "user_id": "maya",
        "public_instruction": INSTRUCTION.public_instruction,
        "private_instruction": INSTRUCTION.private_instruction,
        "context": store.search("maya", INSTRUCTION.full_instruction, k=2),
    }
    assert example.prompt == chat_text(local_messages(state))
    assert example.response == "Dear friends, thank you." + TURN_END
    assert store.queries[0] == (
        "maya",
        INSTRUCTION.full_instruction,
        2,
    )  # retrieval as at inference
    sketches = {sketch_key("maya", INSTRUCTION): "1. Thanks\n2. Beds"}
    [with_sketch] = build_examples([maya_row()], store, k=2, sketches=sketches)  # type: ignore[arg-type]
    assert with_sketch.prompt == chat_text(
        local_messages({**state, "sketch": "1. Thanks\n2. Beds"})
    )
    # tasks without a reference teach nothing and are left out
    assert build_examples([maya_row(reference=" ")], store) == []  # type: ignore[arg-type]


def test_sketches_for_training_send_only_public_instructions() -> None:
    with RecordingServer(reply="1. Thanks 2. Close") as server:
        guard = EgressGuard(base_url=server.base_url, model="fake", audit_log=None, max_retries=0)
        row = maya_row()
        row.context.private_details.append("Halvorsen built the raised beds in 2019")
        sketches = ask_sketches([row], guard, max_tokens=16)
    assert sketches == {sketch_key("maya", INSTRUCTION): "1. Thanks 2. Close"}
    wire = server.all_bytes()
    assert b"garden volunteers" in wire and b"Halvorsen" not in wire


def test_train_dev_uses_splits_or_cuts_one() -> None:
    rows = [maya_row(split) for split in ("train", "train", "dev", "test")]
    train, dev = train_dev(rows)
    assert [r.split for r in train] == ["train", "train"] and [r.split for r in dev] == ["dev"]
    unsplit = [maya_row("test") for _ in range(10)]
    train, dev = train_dev(unsplit, dev_share=0.2, limit=4)
    assert len(train) == 4 and len(dev) == 1
    with pytest.raises(ConfigurationError, match="two users"):
        train_dev([maya_row("test")])


@pytest.mark.parametrize(
    "setting",
    [{"rank": 0}, {"learning_rates": ()}, {"learning_rates": (-1e-4,)}, {"batch_size": 0}],
)
def test_out_of_range_settings_are_typed_errors(setting: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        LoraSettings(**setting)


# -- the training loop on a tiny model ---------------------------------------------------


class WordTokenizer:
    """Whole words to ids 3..63 (1 is BOS), enough for the loop's bookkeeping."""

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        ids = [3 + sum(map(ord, word)) % 61 for word in text.split()]
        return {"input_ids": ([1] if add_special_tokens else []) + ids}


def tiny_model() -> Any:
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=512,
    )  # fmt: skip
    return Gemma3ForCausalLM(config)


def examples(count: int, split: str) -> list[TrainingExample]:
    return [
        TrainingExample(
            user_id=f"u{n}",
            split=split,
            prompt=f"<start_of_turn>user write note {n} <start_of_turn>model",
            response="dear friends the garden grows well thank you all" + TURN_END,
        )
        for n in range(count)
    ]


def test_training_lowers_the_dev_loss_keeps_the_best_and_exports(tmp_path: Path) -> None:
    model = tiny_model()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    settings = LoraSettings(
        rank=4, alpha=8, learning_rates=(1e-3, 3e-2), max_epochs=4, batch_size=2,
        eval_every=1, patience=1, max_length=64,
    )  # fmt: skip
    result = finetune(
        examples(6, "train"), examples(2, "dev"), "tiny", tmp_path, settings,
        loaded=(model, WordTokenizer()), show_progress=False,
    )  # fmt: skip
    assert result.dev_nll_after < result.dev_nll_before
    history = result.history
    assert {row["learning_rate"] for row in history} == {1e-3, 3e-2}  # every rate was tried
    best = min(history, key=lambda row: row["dev_nll"])
    assert result.learning_rate == best["learning_rate"]
    assert math.isclose(result.dev_nll_after, best["dev_nll"])
    assert len(history) <= 2 * 12  # 3 steps an epoch, 4 epochs, each rate at most
    checkpoints = list((tmp_path / "checkpoints").glob("lr-*/step-*/adapter_config.json"))
    assert checkpoints
    report = json.loads((tmp_path / "finetune.json").read_text())
    assert report["learning_rate"] == result.learning_rate
    # the base weights are untouched (LoRA trains adapters only) and unwrapped again
    assert all((p == before[name]).all() for name, p in model.named_parameters())
    assert result.gguf_path == tmp_path / "adapter.gguf"
    reader = gguf.GGUFReader(str(result.gguf_path))
    fields = {name: field for name, field in reader.fields.items()}
    assert bytes(fields["general.type"].parts[-1]).decode() == "adapter"
    assert bytes(fields["adapter.type"].parts[-1]).decode() == "lora"
    assert float(fields["adapter.lora.alpha"].parts[-1][0]) == 8.0
    names = {tensor.name for tensor in reader.tensors}
    for block in (0, 1):
        for weight in (
            "attn_q",
            "attn_k",
            "attn_v",
            "attn_output",
            "ffn_gate",
            "ffn_up",
            "ffn_down",
        ):
            assert {
                f"blk.{block}.{weight}.weight.lora_a",
                f"blk.{block}.{weight}.weight.lora_b",
            } <= names
    assert len(names) == 2 * 7 * 2
    shapes = {tensor.name: tuple(int(n) for n in tensor.shape) for tensor in reader.tensors}
    assert shapes["blk.0.attn_q.weight.lora_a"] == (32, 4)  # ggml order: (in, rank)
    assert shapes["blk.0.attn_q.weight.lora_b"] == (4, 32)  # (rank, out): 2 heads x 16


def test_examples_that_do_not_fit_are_skipped_and_counted(tmp_path: Path) -> None:
    long_prompt = examples(1, "train")[0].prompt + " word" * 80
    train = [*examples(3, "train"), TrainingExample("x", "train", long_prompt, "ok" + TURN_END)]
    settings = LoraSettings(rank=2, alpha=4, learning_rates=(1e-2,), max_epochs=1, max_length=48)
    result = finetune(
        train, examples(1, "dev"), "tiny", tmp_path, settings, export_gguf=False,
        loaded=(tiny_model(), WordTokenizer()), show_progress=False,
    )  # fmt: skip
    assert result.skipped_examples == 1 and result.train_examples == 3
    assert result.gguf_path is None
