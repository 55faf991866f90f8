"""Fine-tuning the real Gemma 3 270M: `cogenesis finetune`, the GGUF adapter's round trip
into llama.cpp, and the fine-tuned model in the sketch graph and in fusion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.fusion import LlamaCppScorer
from langchain_cogenesis.graphs import Components, run_sketch_graph
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.retrievers import PrivateStore

pytestmark = pytest.mark.integration
pytest.importorskip("peft", reason="the train extra is installed by `make test`")

PROMPT = (
    "<start_of_turn>user\nWrite a short thank-you note to the community garden "
    "volunteers.<end_of_turn>\n<start_of_turn>model\n"
)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> Path:
    """A tiny run of the command a user types: one train user, two optimizer steps."""
    out = tmp_path_factory.mktemp("finetune") / "out"
    env = {
        **os.environ,
        "COGENESIS_HOME": str(out.parent / "home"),
        "COGENESIS_LOCAL_MODEL": str(model_path),
        "HF_HUB_OFFLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "langchain_cogenesis.cli", "finetune", "--out", str(out),
         "--limit", "1", "--max-steps", "2", "--learning-rates", "2e-3", "--batch-size", "2",
         "--eval-every", "1", "--max-length", "768", "--k", "2"],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    assert "Best learning rate 0.002" in done.stdout
    assert f"COGENESIS_LOCAL_LORA={out / 'adapter.gguf'}" in done.stdout
    return out


def test_the_run_writes_adapters_checkpoints_and_figures(tuned: Path) -> None:
    report = json.loads((tuned / "finetune.json").read_text())
    assert report["train_examples"] == 3 and report["dev_examples"] == 3
    assert [row["step"] for row in report["history"]] == [1, 2]
    assert report["dev_nll_after"] == min(row["dev_nll"] for row in report["history"])
    assert report["train_seconds"] > 0
    assert (tuned / "adapter.gguf").stat().st_size > 0
    assert list((tuned / "checkpoints" / "lr-0.002").glob("step-*/adapter_model.safetensors"))


def test_training_really_moved_the_adapter_weights(tuned: Path) -> None:
    from safetensors.torch import load_file

    weights = load_file(str(tuned / "adapter" / "adapter_model.safetensors"))
    lora_b = [tensor for name, tensor in weights.items() if "lora_B" in name]
    assert len(lora_b) == 18 * 7  # every targeted projection of every block
    # LoRA starts B at zero: a non-zero B is what training wrote
    assert all(float(tensor.abs().sum()) > 0 for tensor in lora_b)


def test_the_gguf_adapter_round_trips_into_llama_cpp(tuned: Path, model_path: Path) -> None:
    import torch
    from peft import PeftModel

    from langchain_cogenesis.finetune.lora import load_base_model

    model, tokenizer = load_base_model(model_path)
    ids = tokenizer(PROMPT + "Dear")["input_ids"]
    with torch.no_grad():
        base = torch.log_softmax(model(torch.tensor([ids])).logits[0, -1], -1)
        adapted_model = PeftModel.from_pretrained(model, str(tuned / "adapter"))
        adapted = torch.log_softmax(adapted_model(torch.tensor([ids])).logits[0, -1], -1)
    in_llama = LlamaCppScorer(model_path, lora_path=tuned / "adapter.gguf").next_top_k(ids, 5)
    plain_llama = LlamaCppScorer(model_path).next_top_k(ids, 5)
    assert int(plain_llama.ids[0]) == int(torch.argmax(base))  # the base model agrees too
    # llama.cpp with the exported adapter follows the adapted model, not the base one
    assert int(in_llama.ids[0]) == int(torch.argmax(adapted))
    gaps = [
        abs(float(adapted[i]) - float(v))
        for i, v in zip(in_llama.ids, in_llama.logprobs, strict=True)
    ]
    base_gaps = [
        abs(float(base[i]) - float(v)) for i, v in zip(in_llama.ids, in_llama.logprobs, strict=True)
    ]
    assert max(gaps) < 0.5  # Q4 kernels vs dequantized float32
    assert sum(base_gaps) > 2 * sum(gaps)


def test_the_fine_tuned_model_writes_differently_in_the_graphs(
    tuned: Path,
    model_path: Path,
    standin: StandInCloud,
    demo_users: list[DatasetUser],
    tmp_path: Path,
) -> None:
    adapter = tuned / "adapter.gguf"
    options: dict[str, Any] = {"model_path": model_path, "max_tokens": 24, "temperature": 0.0}
    from langchain_core.messages import HumanMessage

    question = [HumanMessage("Write a short thank-you note to the community garden volunteers.")]
    plain = ChatLocalLlama(**options).invoke(question).text
    tuned_text = ChatLocalLlama(**options, lora_path=adapter).invoke(question).text
    assert tuned_text and tuned_text != plain  # the adapter changes what the model writes

    store = PrivateStore(tmp_path / "store")
    store.add_user_context(demo_users[0].context)
    task = demo_users[0].tasks[0].instruction
    request: Any = {
        "user_id": demo_users[0].context.user_id,
        "public_instruction": task.public_instruction,
        "private_instruction": task.private_instruction,
    }
    parts = Components(
        store=store,
        local_model=ChatLocalLlama(**options, lora_path=adapter, n_ctx=2048),
        egress_guard=EgressGuard(
            base_url=standin.base_url, model=standin.model, send_max_tokens=True
        ),
        sketch_max_tokens=48,
    )
    sketched = run_sketch_graph(parts, {**request, "mode": "sketch"})
    assert sketched.answer and sketched.sketch is not None and not sketched.degraded
    parts.local_scorer = LlamaCppScorer(model_path, lora_path=adapter, n_ctx=2048)
    parts.cloud_scorer = LlamaCppScorer(model_path, n_ctx=2048, name="cloud")
    parts.fusion_max_tokens = 16
    fused = run_sketch_graph(parts, {**request, "mode": "fusion"})
    assert fused.answer and fused.fusion is not None and fused.fusion["cloud_tokens"] > 0
