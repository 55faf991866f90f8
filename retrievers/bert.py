"""A sentence encoder for BERT-family folders in plain torch: no transformers import.

sentence-transformers imports transformers and much of its tree before it embeds a
word; on a 2-core machine that is most of a command's start-up (measured: about 14 s
of CPU for the import, against 3 s for torch alone). The bundled all-MiniLM-L6-v2 is
a 6-layer BERT with mean pooling and L2 normalization, which takes a page of torch to
run. :func:`load_bert_encoder` reads such a folder (``config.json`` with
``model_type: bert``, ``model.safetensors``, ``tokenizer.json`` and the
sentence-transformers module list) and returns an encoder with the same vectors;
it returns ``None`` for any other folder, which then goes through
sentence-transformers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


@dataclass(frozen=True)
class _Layout:
    """What a sentence-transformers folder says about its modules."""

    pooling: str
    max_length: int


def _layout(folder: Path) -> _Layout | None:
    """The folder's pipeline, when it is Transformer -> Pooling (mean or CLS) [-> Normalize]."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kinds = [str(module.get("type", "")).rsplit(".", 1)[-1] for module in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    if config.get("model_type") != "bert" or config.get("position_embedding_type", "absolute") != (
        "absolute"
    ):
        return None
    if config.get("hidden_act") != "gelu":
        return None
    try:
        pooling_config = json.loads(
            (folder / modules[1].get("path", "1_Pooling") / "config.json").read_text("utf-8")
        )
        sentence = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    chosen = [mode for key, mode in POOLING_MODES.items() if pooling_config.get(key)]
    others = [
        key for key, value in pooling_config.items() if key.startswith("pooling_mode_") and value
    ]
    if len(chosen) != 1 or len(others) != 1 or sentence.get("do_lower_case"):
        return None
    max_length = min(
        int(sentence.get("max_seq_length") or 512), int(config.get("max_position_embeddings", 512))
    )
    return _Layout(chosen[0], max_length)


def load_bert_encoder(folder: Path) -> BertEncoder | None:
    """An encoder for ``folder``, or ``None`` when the folder is not a plain BERT one."""
    layout = _layout(folder)
    if layout is None or not (folder / "model.safetensors").exists():
        return None
    if not (folder / "tokenizer.json").exists():
        return None
    return BertEncoder(folder, layout)


class BertEncoder:
    """BERT forward pass, pooling and L2 normalization, in inference mode on the CPU."""

    def __init__(self, folder: Path, layout: _Layout) -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.layout = layout
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        weights = load_file(str(folder / "model.safetensors"), device="cpu")
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        self.weights = {
            name[len(prefix) :]: tensor.float()
            for name, tensor in weights.items()
            if name.startswith(prefix)
        }
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=layout.max_length)
        pad_id = int(config.get("pad_token_id") or 0)
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token=self.tokenizer.id_to_token(pad_id))
        self.torch = torch

    def _norm(self, x: Any, name: str) -> Any:
        w = self.weights
        return self.torch.nn.functional.layer_norm(
            x, x.shape[-1:], w[f"{name}.weight"], w[f"{name}.bias"], self.eps
        )

    def _linear(self, x: Any, name: str) -> Any:
        return self.torch.nn.functional.linear(
            x, self.weights[f"{name}.weight"], self.weights[f"{name}.bias"]
        )

    def encode(self, texts: list[str], batch_size: int = 32) -> list[list[float]]:
        """One vector per text, in order."""
        vectors: list[list[float]] = []
        with self.torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                vectors.extend(self._batch(texts[start : start + batch_size]))
        return vectors

    def token_states(self, texts: list[str]) -> tuple[Any, Any, list[Any]]:
        """The last layer's state of every token, for token-level heads.

        Returns ``(states, mask, encodings)``: a ``[batch, length, hidden]`` tensor,
        the ``[batch, length]`` attention mask and the tokenizer's encodings (their
        ``offsets`` map each token to characters of its text). Texts longer than the
        encoder's window are truncated; callers window long texts themselves.
        """
        with self.torch.inference_mode():
            encoded = self.tokenizer.encode_batch(texts)
            states, mask = self._forward(encoded)
        return states, mask, encoded

    def _batch(self, texts: list[str]) -> list[list[float]]:
        x, mask = self._forward(self.tokenizer.encode_batch(texts))
        functional = self.torch.nn.functional
        if self.layout.pooling == "cls":
            pooled = x[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(x.dtype)
            pooled = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        pooled = functional.normalize(pooled, p=2, dim=1)  # as LocalEmbeddings promises
        return [[float(value) for value in row] for row in pooled.tolist()]

    def _forward(self, encoded: list[Any]) -> tuple[Any, Any]:
        """The encoder's last hidden states and the attention mask of ``encoded``."""
        torch, functional, w = self.torch, self.torch.nn.functional, self.weights
        ids = torch.tensor([e.ids for e in encoded], dtype=torch.long)
        types = torch.tensor([e.type_ids for e in encoded], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in encoded], dtype=torch.bool)
        batch, length = ids.shape
        positions = torch.arange(length).unsqueeze(0)
        x = (
            functional.embedding(ids, w["embeddings.word_embeddings.weight"])
            + functional.embedding(positions, w["embeddings.position_embeddings.weight"])
            + functional.embedding(types, w["embeddings.token_type_embeddings.weight"])
        )
        x = self._norm(x, "embeddings.LayerNorm")
        head_size = x.shape[-1] // self.heads
        keep = mask[:, None, None, :]  # attend to real tokens only

        def heads(t: Any) -> Any:
            return t.view(batch, length, self.heads, head_size).transpose(1, 2)

        for index in range(self.layers):
            layer = f"encoder.layer.{index}"
            q = heads(self._linear(x, f"{layer}.attention.self.query"))
            k = heads(self._linear(x, f"{layer}.attention.self.key"))
            v = heads(self._linear(x, f"{layer}.attention.self.value"))
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(head_size)
            scores = scores.masked_fill(~keep, torch.finfo(scores.dtype).min)
            context = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, length, -1)
            attended = self._linear(context, f"{layer}.attention.output.dense")
            x = self._norm(attended + x, f"{layer}.attention.output.LayerNorm")
            inner = functional.gelu(self._linear(x, f"{layer}.intermediate.dense"))
            x = self._norm(
                self._linear(inner, f"{layer}.output.dense") + x, f"{layer}.output.LayerNorm"
            )
        return x, mask
