"""The fused decoding loop (paper §3.3): one token at a time, both models, one combiner.

The local model sees instruction and private context; the cloud sees the public
instruction and the generated prefix only. Before each cloud step the prefix passes
a :class:`~langchain_cogenesis.privacy.PrefixGate`: at the first private hit the
cloud stops taking part for good, as it does after ``first_k`` tokens (Table 4).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from langchain_cogenesis.fusion.combiners import TOP_K, Combiner, Fused, local_only
from langchain_cogenesis.fusion.scorers import TokenScorer
from langchain_cogenesis.privacy.guard import PrefixGate


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
    """Per step: time outside the two models' forward passes."""


@dataclass(frozen=True)
class Sampling:
    """Greedy when ``temperature == 0``; otherwise temperature and nucleus (top-p)."""

    temperature: float = 0.0
    top_p: float = 0.9
    seed: int | None = None


def choose(fused: Fused, sampling: Sampling, rng: np.random.Generator) -> int:
    """Pick the next token from a fused distribution."""
    if sampling.temperature <= 0:
        return int(fused.ids[int(np.argmax(fused.probs))])
    logits = np.log(np.maximum(fused.probs, 1e-12)) / sampling.temperature
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(probs)[::-1]
    cumulative = np.cumsum(probs[order])
    keep = order[: int(np.searchsorted(cumulative, sampling.top_p) + 1)]
    kept = probs[keep] / probs[keep].sum()
    return int(fused.ids[keep[int(rng.choice(len(keep), p=kept))]])


def fused_tokens(
    local: TokenScorer,
    cloud: TokenScorer | None,
    local_prompt: Sequence[int],
    cloud_prompt: Sequence[int],
    combiner: Combiner,
    *,
    max_tokens: int = 256,
    sampling: Sampling = Sampling(),
    stop: Sequence[str] = (),
    stop_ids: Sequence[int] = (),
    first_k: int | None = None,
    prefix_gate: PrefixGate | None = None,
    top_k: int = TOP_K,
) -> Iterator[tuple[TokenTrace, FusionResult]]:
    """Yield each generated token with the running result; the last one is final."""
    rng = np.random.default_rng(sampling.seed)
    vocab = local.vocab_size()
    result = FusionResult(text="", token_ids=[], trace=[], finish_reason="length", cloud_tokens=0)
    for step in range(max_tokens):
        started = time.perf_counter()
        model_seconds = 0.0
        tick = time.perf_counter()
        local_top = local.next_top_k([*local_prompt, *result.token_ids], top_k)
        model_seconds += time.perf_counter() - tick
        cloud_top = None
        cloud_allowed = cloud is not None and (first_k is None or step < first_k)
        if cloud_allowed and prefix_gate is not None:
            cloud_allowed = prefix_gate.allows(result.text, step)
            if not cloud_allowed and result.cloud_stopped_at is None:
                result.cloud_stopped_at = prefix_gate.closed_at
        if cloud_allowed and cloud is not None:
            tick = time.perf_counter()
            cloud_top = cloud.next_top_k([*cloud_prompt, *result.token_ids], top_k)
            model_seconds += time.perf_counter() - tick
            fused = combiner.combine(local_top, cloud_top, vocab)
            result.cloud_tokens += 1
        else:
            fused = local_only(local_top)
        token = choose(fused, sampling, rng)
        result.token_ids.append(token)
        result.text = local.detokenize(result.token_ids)
        trace = TokenTrace(
            token_id=token,
            text=local.detokenize([token]),
            weight=fused.weight,
            local_top=(int(local_top.ids[0]), float(np.exp(local_top.logprobs[0]))),
            cloud_top=(
                (int(cloud_top.ids[0]), float(np.exp(cloud_top.logprobs[0])))
                if cloud_top is not None
                else None
            ),
        )
        result.trace.append(trace)
        result.step_overhead_ms.append((time.perf_counter() - started - model_seconds) * 1000)
        if token in stop_ids:
            result.token_ids.pop()
            result.trace.pop()
            result.text = local.detokenize(result.token_ids)
            result.finish_reason = "stop"
            yield trace, result
            return
        hit = min((i for i in (result.text.find(s) for s in stop) if i != -1), default=-1)
        if hit != -1:
            result.text = result.text[:hit]
            result.finish_reason = "stop"
            yield trace, result
            return
        yield trace, result


def fused_generate(
    local: TokenScorer,
    cloud: TokenScorer | None,
    local_prompt: Sequence[int],
    cloud_prompt: Sequence[int],
    combiner: Combiner,
    **kwargs: object,
) -> FusionResult:
    """Run :func:`fused_tokens` to the end and return the result."""
    final = FusionResult(text="", token_ids=[], trace=[], finish_reason="length", cloud_tokens=0)
    steps = fused_tokens(local, cloud, local_prompt, cloud_prompt, combiner, **kwargs)  # type: ignore[arg-type]
    for _, running in steps:
        final = running
    return final
