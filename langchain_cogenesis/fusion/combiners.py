"""Combiners: fuse the local and the cloud next-token distributions (paper §3.3, eq. 5-6).

Both models report only their top-k. The fused distribution lives on the union of
the two top-k sets. A token outside one model's top-k gets that model's remaining
mass spread evenly over the rest of its vocabulary, ``(1 - Σ top-k) / (V - k)``
(tiny for a real vocabulary); the fused values are then renormalized over the union.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from langchain_cogenesis.errors import MissingExtra
from langchain_cogenesis.fusion.scorers import TopK

TOP_K = 10
"""Logits per model that the learned combiner sees (paper appendix B)."""


@dataclass(frozen=True)
class Fused:
    """A fused next-token distribution over the union of both top-k sets."""

    ids: np.ndarray
    probs: np.ndarray
    weight: float
    """``w`` of eq. 6: the local model's share (1.0 when the cloud takes no part)."""


def union_probs(
    local: TopK, cloud: TopK, vocab_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union of ids, and each model's probability of each of them."""
    ids = np.concatenate([local.ids, cloud.ids[~np.isin(cloud.ids, local.ids)]])

    def spread(top: TopK) -> np.ndarray:
        known = dict(zip(top.ids.tolist(), np.exp(top.logprobs).tolist(), strict=True))
        rest = leftover(top, vocab_size)
        return np.array([known.get(int(i), rest) for i in ids])

    return ids, spread(local), spread(cloud)


def leftover(top: TopK, vocab_size: int) -> float:
    """A model's probability of one token outside its top-k: the rest spread evenly."""
    mass = float(np.exp(top.logprobs).sum())
    return max(0.0, 1.0 - mass) / max(1, vocab_size - len(top.ids))


def local_only(local: TopK) -> Fused:
    """The local model's own distribution over its top-k (the cloud takes no part)."""
    probs = np.exp(local.logprobs)
    return Fused(ids=local.ids, probs=probs / probs.sum(), weight=1.0)


def _normalized(values: np.ndarray) -> np.ndarray:
    total = values.sum()
    return values / total if total > 0 else np.full_like(values, 1.0 / len(values))


class Combiner(Protocol):
    """Fuses two top-k distributions."""

    name: str

    def combine(self, local: TopK, cloud: TopK, vocab_size: int) -> Fused:
        """The fused distribution."""
        ...


class MeanCombiner:
    """Mean pooling: ``w = 0.5``."""

    name = "mean"

    def combine(self, local: TopK, cloud: TopK, vocab_size: int) -> Fused:
        """``0.5 * p_slm + 0.5 * p_llm``."""
        ids, p_slm, p_llm = union_probs(local, cloud, vocab_size)
        return Fused(ids=ids, probs=_normalized(0.5 * p_slm + 0.5 * p_llm), weight=0.5)


class MaxCombiner:
    """Max pooling: the larger of the two probabilities per token, renormalized.

    Its ``weight`` is 1.0 when the local model's value wins at the fused argmax, else 0.0.
    """

    name = "max"

    def combine(self, local: TopK, cloud: TopK, vocab_size: int) -> Fused:
        """``max(p_slm, p_llm)``, renormalized."""
        ids, p_slm, p_llm = union_probs(local, cloud, vocab_size)
        probs = _normalized(np.maximum(p_slm, p_llm))
        best = int(np.argmax(probs))
        return Fused(ids=ids, probs=probs, weight=float(p_slm[best] >= p_llm[best]))


def combiner_features(local: TopK, cloud: TopK, top: int = TOP_K) -> np.ndarray:
    """The learned combiner's input: each model's top-``top`` log-probabilities, best first.

    Padded with the last value when a model reports fewer than ``top``.
    """

    def pad(values: np.ndarray) -> np.ndarray:
        values = np.sort(values)[::-1][:top]
        if len(values) < top:
            values = np.concatenate([values, np.full(top - len(values), values[-1])])
        return values

    return np.concatenate([pad(local.logprobs), pad(cloud.logprobs)]).astype(np.float32)


def build_comb_model(top: int = TOP_K) -> Any:
    """CombModel (paper appendix B): 2×top inputs, hidden 512 and 16, ReLU, sigmoid."""
    with MissingExtra.if_absent("fusion", "The learned combiner"):
        from torch import nn

    return nn.Sequential(
        nn.Linear(2 * top, 512),
        nn.ReLU(),
        nn.Linear(512, 16),
        nn.ReLU(),
        nn.Linear(16, 1),
        nn.Sigmoid(),
    )


class LearnedCombiner:
    """The learned CombModel: a small torch MLP predicts ``w`` from both top-k sets.

    Key init args:
        model: a module from :func:`build_comb_model` (untrained by default).
        top: logits per model in the input (10 in the paper).

    Save and load with :meth:`save` / :meth:`load` (safetensors weights + JSON config).
    """

    name = "learned"

    def __init__(self, model: Any = None, *, top: int = TOP_K) -> None:
        self.top = top
        self.model = model if model is not None else build_comb_model(top)
        self.model.eval()

    def weight(self, local: TopK, cloud: TopK) -> float:
        """``w`` for one step."""
        import torch

        features = torch.from_numpy(combiner_features(local, cloud, self.top)).unsqueeze(0)
        with torch.no_grad():
            return float(self.model(features).item())

    def combine(self, local: TopK, cloud: TopK, vocab_size: int) -> Fused:
        """``w * p_slm + (1 - w) * p_llm`` with ``w`` from the MLP."""
        ids, p_slm, p_llm = union_probs(local, cloud, vocab_size)
        w = self.weight(local, cloud)
        return Fused(ids=ids, probs=_normalized(w * p_slm + (1 - w) * p_llm), weight=w)

    def save(self, folder: Path | str) -> Path:
        """Write ``combiner.safetensors`` and ``combiner.json`` into ``folder``."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(
            {name: tensor.contiguous() for name, tensor in self.model.state_dict().items()},
            folder / "combiner.safetensors",
        )
        config = {"kind": "CombModel", "top": self.top, "hidden": [512, 16]}
        (folder / "combiner.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path | str) -> LearnedCombiner:
        """Load weights written by :meth:`save`."""
        with MissingExtra.if_absent("fusion", "The learned combiner"):
            from safetensors.torch import load_file

        folder = Path(folder)
        config = json.loads((folder / "combiner.json").read_text(encoding="utf-8"))
        model = build_comb_model(int(config["top"]))
        model.load_state_dict(load_file(folder / "combiner.safetensors"))
        return cls(model, top=int(config["top"]))


def load_combiner(spec: str | Path | Combiner | None) -> Combiner:
    """``"mean"`` (default), ``"max"``, a folder written by :meth:`LearnedCombiner.save`,
    or a combiner object."""
    if spec is None or spec == "mean":
        return MeanCombiner()
    if spec == "max":
        return MaxCombiner()
    if isinstance(spec, str | Path):
        folder = Path(spec)
        if not (folder / "combiner.json").is_file():
            raise ValueError(f"{spec!r} is neither 'mean', 'max' nor a trained combiner folder.")
        return LearnedCombiner.load(folder)
    return spec
