"""What a fused generation returns, and how a token is drawn from a fused distribution."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from langchain_cogenesis.fusion.combiners import Fused


@dataclass(frozen=True)
class TokenTrace:
    """One generated token and how it was chosen."""

    token_id: int
    text: str
    weight: float
    local_top: tuple[int, float]
    cloud_top: tuple[int, float] | None
    """The cloud's best token and probability; ``None`` when it took no part."""


@dataclass
class FusionResult:
    """A fused generation and its evidence."""

    text: str
    token_ids: list[int]
    trace: list[TokenTrace]
    finish_reason: str
    cloud_tokens: int
    """Tokens at which the cloud took part."""
    cloud_stopped_at: int | None = None
    """Token index from which the cloud took no part because the prefix gate closed."""
    step_overhead_ms: list[float] = field(default_factory=list)
    """Per token: time outside the two models' forward passes."""
    cloud_requests: int = 0
    """Cloud scoring calls (one per token without drafting, one per round with it)."""
    drafted: int = 0
    """Local proposals sent to the cloud for scoring (drafting only)."""
    accepted: int = 0
    """Of those, proposals the fused distribution accepted."""
    cloud_error: str = ""
    """Why the cloud stopped taking part mid-answer (its endpoint failed after the
    guard's retries); the rest of the answer was written by the local model alone."""
    prompt_tokens: int = 0
    """Tokens of the local model's prompt."""


@dataclass(frozen=True)
class Sampling:
    """Greedy when ``temperature == 0``; otherwise temperature and nucleus (top-p)."""

    temperature: float = 0.0
    top_p: float = 0.9
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        """Whether decoding takes the argmax."""
        return self.temperature <= 0


def distribution(fused: Fused, sampling: Sampling) -> dict[int, float]:
    """The distribution a token is drawn from: temperature, then nucleus (top-p)."""
    if sampling.greedy:
        return {int(fused.ids[int(np.argmax(fused.probs))]): 1.0}
    logits = np.log(np.maximum(fused.probs, 1e-12)) / sampling.temperature
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(probs)[::-1]
    cumulative = np.cumsum(probs[order])
    keep = order[: int(np.searchsorted(cumulative, sampling.top_p) + 1)]
    kept = probs[keep] / probs[keep].sum()
    return {int(fused.ids[i]): float(p) for i, p in zip(keep, kept, strict=True)}


def draw(dist: dict[int, float], rng: np.random.Generator) -> int:
    """One token from ``dist``."""
    ids = list(dist)
    if len(ids) == 1:
        return ids[0]
    probs = np.array([dist[i] for i in ids])
    return ids[int(rng.choice(len(ids), p=probs / probs.sum()))]


def choose(fused: Fused, sampling: Sampling, rng: np.random.Generator) -> int:
    """Pick the next token from a fused distribution."""
    return draw(distribution(fused, sampling), rng)
