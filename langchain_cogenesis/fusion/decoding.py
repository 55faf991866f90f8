"""The fused decoding loop (paper §3.3): both models, one combiner, token by token.

The local model sees instruction and private context; the cloud sees the public
instruction and the generated prefix only. Before each cloud step the prefix passes
a :class:`~langchain_cogenesis.privacy.egress.gate.PrefixGate`: at the first private hit the
cloud stops taking part for good, as it does after ``first_k`` tokens (Table 4).

With ``draft=n`` the local model proposes up to ``n`` tokens, the cloud scores the
whole proposal in one request (:meth:`score_positions`), and the loop fuses at each
position and accepts proposals up to the first one the fused distribution rejects
(then emits the fused choice there). Under greedy decoding the output is the same
token for token as without drafting; under sampling the speculative-sampling rule
(accept with ``min(1, p/q)``, else sample the residual ``max(0, p - q)``) keeps the
output distribution equal to the fused one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.messages import BaseMessage

from langchain_cogenesis.errors import CloudError, CloudLogprobsUnavailable, PrivacyViolation
from langchain_cogenesis.fusion.combiners import TOP_K, Combiner, Fused, local_only
from langchain_cogenesis.fusion.sampling import (
    FusionResult,
    Sampling,
    TokenTrace,
    choose,
    distribution,
    draw,
)
from langchain_cogenesis.fusion.scorers import TokenScorer, TopK, score_positions
from langchain_cogenesis.models.templates import chat_template_of
from langchain_cogenesis.privacy.egress.gate import PrefixGate
from langchain_cogenesis.prompts import chat_text


@dataclass
class _Step:
    token: int
    fused: Fused
    local_top: TopK
    cloud_top: TopK | None
    overhead_ms: float


class _Loop:
    """State shared by the per-token and the drafting step sources."""

    def __init__(
        self,
        local: TokenScorer,
        cloud: TokenScorer | None,
        local_prompt: Sequence[int],
        cloud_prompt: Sequence[int],
        combiner: Combiner,
        sampling: Sampling,
        first_k: int | None,
        prefix_gate: PrefixGate | None,
        top_k: int,
        stop_ids: Sequence[int],
        max_tokens: int,
        degrade: bool = True,
    ) -> None:
        self.local, self.cloud, self.combiner = local, cloud, combiner
        self.degrade = degrade
        self.local_prompt, self.cloud_prompt = list(local_prompt), list(cloud_prompt)
        self.sampling, self.first_k, self.gate, self.top_k = sampling, first_k, prefix_gate, top_k
        self.stop_ids = set(stop_ids)
        self.max_tokens = max_tokens
        self.rng = np.random.default_rng(sampling.seed)
        self.vocab = local.vocab_size()
        self.result = FusionResult(
            text="",
            token_ids=[],
            trace=[],
            finish_reason="length",
            cloud_tokens=0,
            prompt_tokens=len(self.local_prompt),
        )
        self.model_seconds = 0.0

    def local_top(self, ids: Sequence[int]) -> TopK:
        tick = time.perf_counter()
        try:
            return self.local.next_top_k([*self.local_prompt, *ids], self.top_k)
        finally:
            self.model_seconds += time.perf_counter() - tick

    def cloud_tops(self, ids: Sequence[int], first: int) -> list[TopK | None]:
        """The cloud's top-k after ``ids[:i]`` for ``i`` from ``first`` to ``len(ids)``."""
        assert self.cloud is not None
        tick = time.perf_counter()
        try:
            self.result.cloud_requests += 1
            full = [*self.cloud_prompt, *ids]
            tops = score_positions(self.cloud, full, len(self.cloud_prompt) + first, self.top_k)
            if tops[0] is None:
                # the endpoint's answer could not be aligned there: ask for that one position
                self.result.cloud_requests += 1
                tops[0] = self.cloud.next_top_k(full[: len(self.cloud_prompt) + first], self.top_k)
            return tops
        except CloudError as error:
            # An endpoint without log-probabilities is known at the first request: the
            # caller chooses another path. Later failures (after the guard's retries)
            # end the cloud's part; the local model finishes the answer alone.
            first_request = self.result.cloud_tokens == 0 and self.result.cloud_requests == 1
            if not self.degrade or (isinstance(error, CloudLogprobsUnavailable) and first_request):
                raise
            self.result.cloud_error = f"{type(error).__name__}: {error}"
            self.cloud = None
            return [None] * (len(ids) - first + 1)
        except PrivacyViolation:
            # The guard refused this prefix (it scans what the prefix gate's scanner
            # may not, e.g. with per-type policies): nothing was sent, and the cloud's
            # part ends here as at a closed gate. The refusal's text names private
            # values, so it is not kept.
            if self.result.cloud_stopped_at is None:
                self.result.cloud_stopped_at = first
            self.cloud = None
            return [None] * (len(ids) - first + 1)
        finally:
            self.model_seconds += time.perf_counter() - tick

    def cloud_open(self, step: int) -> bool:
        """Whether the cloud takes part at ``step`` (first-k and the prefix gate)."""
        if self.cloud is None or (self.first_k is not None and step >= self.first_k):
            return False
        if self.gate is not None and not self.gate.allows(self.result.text, step):
            if self.result.cloud_stopped_at is None:
                self.result.cloud_stopped_at = self.gate.closed_at
            return False
        return True

    def fuse(self, local_top: TopK, cloud_top: TopK | None) -> Fused:
        if cloud_top is None:
            return local_only(local_top)
        return self.combiner.combine(local_top, cloud_top, self.vocab)

    def per_token(self) -> Iterator[_Step]:
        """One local and (while allowed) one cloud call per token."""
        while True:
            self.model_seconds = 0.0
            started = time.perf_counter()
            generated = self.result.token_ids
            local_top = self.local_top(generated)
            cloud_top = None
            if self.cloud_open(len(generated)):
                cloud_top = self.cloud_tops(generated, len(generated))[0]
            fused = self.fuse(local_top, cloud_top)
            token = choose(fused, self.sampling, self.rng)
            yield _Step(token, fused, local_top, cloud_top, self._overhead(started, 1))

    def drafted(self, draft: int) -> Iterator[_Step]:
        """Rounds of local proposals scored by the cloud in one request each."""
        while True:
            generated = list(self.result.token_ids)
            step = len(generated)
            if not self.cloud_open(step):
                yield from self._single(generated)
                continue
            self.model_seconds = 0.0
            started = time.perf_counter()
            limit = min(draft, self.max_tokens - 1 - step)
            if self.first_k is not None:
                limit = min(limit, self.first_k - 1 - step)
            proposals, local_tops, draft_dists = self._propose(generated, max(0, limit))
            proposals = self._public_part(generated, proposals)
            cloud_tops = self.cloud_tops([*generated, *proposals], step)
            self.result.drafted += len(proposals)
            steps = self._accept(generated, proposals, local_tops, draft_dists, cloud_tops)
            overhead = self._overhead(started, len(steps))
            for item in steps:
                item.overhead_ms = overhead
                yield item

    def _single(self, generated: list[int]) -> Iterator[_Step]:
        self.model_seconds = 0.0
        started = time.perf_counter()
        local_top = self.local_top(generated)
        fused = local_only(local_top)
        token = choose(fused, self.sampling, self.rng)
        yield _Step(token, fused, local_top, None, self._overhead(started, 1))

    def _propose(
        self, generated: list[int], count: int
    ) -> tuple[list[int], list[TopK], list[dict[int, float]]]:
        """Up to ``count`` local proposals, each model call's top-k, the draft distributions."""
        proposals: list[int] = []
        local_tops: list[TopK] = []
        dists: list[dict[int, float]] = []
        while len(proposals) < count:
            top = self.local_top([*generated, *proposals])
            dist = distribution(local_only(top), self.sampling)
            local_tops.append(top)
            dists.append(dist)
            proposals.append(draw(dist, self.rng))
            if proposals[-1] in self.stop_ids:
                break
        return proposals, local_tops, dists

    def _public_part(self, generated: list[int], proposals: list[int]) -> list[int]:
        """The longest run of proposals whose text the gate would let out (nothing closes)."""
        if self.gate is None or not proposals:
            return proposals
        for end in range(len(proposals), 0, -1):
            text = self.local.detokenize([*generated, *proposals[:end]])
            if not self.gate.scanner.scan(text):
                return proposals[:end]
        return []

    def _accept(
        self,
        generated: list[int],
        proposals: list[int],
        local_tops: list[TopK],
        draft_dists: list[dict[int, float]],
        cloud_tops: list[TopK | None],
    ) -> list[_Step]:
        steps: list[_Step] = []
        for index, proposal in enumerate(proposals):
            cloud_top = cloud_tops[index]
            if cloud_top is None:  # not aligned: the next round starts here
                return steps
            fused = self.fuse(local_tops[index], cloud_top)
            target = distribution(fused, self.sampling)
            if self.sampling.greedy:
                token = next(iter(target))
            else:
                token = self._speculative(proposal, target, draft_dists[index])
            steps.append(_Step(token, fused, local_tops[index], cloud_top, 0.0))
            if token != proposal:
                return steps
            self.result.accepted += 1
        if cloud_tops[len(proposals)] is None:
            return steps
        # every proposal accepted: the cloud already scored the position after them
        local_top = self.local_top([*generated, *proposals])
        fused = self.fuse(local_top, cloud_tops[len(proposals)])
        token = choose(fused, self.sampling, self.rng)
        steps.append(_Step(token, fused, local_top, cloud_tops[len(proposals)], 0.0))
        return steps

    def _speculative(self, proposal: int, target: dict[int, float], draft: dict[int, float]) -> int:
        """Speculative sampling: keep ``proposal`` with ``min(1, p/q)``, else the residual."""
        p, q = target.get(proposal, 0.0), draft.get(proposal, 0.0)
        if q > 0 and self.rng.random() < min(1.0, p / q):
            return proposal
        residual = {t: v - draft.get(t, 0.0) for t, v in target.items() if v > draft.get(t, 0.0)}
        return draw(residual, self.rng) if residual else draw(target, self.rng)

    def _overhead(self, started: float, tokens: int) -> float:
        spent = time.perf_counter() - started - self.model_seconds
        return spent * 1000 / max(1, tokens)


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
    draft: int = 0,
    degrade: bool = True,
) -> Iterator[tuple[TokenTrace, FusionResult]]:
    """Yield each generated token with the running result; the last one is final.

    Args:
        draft: local proposals per cloud request (0: one cloud request per token).
        degrade: when the cloud fails mid-answer (a :class:`CloudError` after the
            guard's retries), finish with the local model alone and say why in
            ``cloud_error``; ``False`` raises instead. An endpoint without
            log-probabilities raises at the first request either way.
    """
    loop = _Loop(
        local, cloud, local_prompt, cloud_prompt, combiner, sampling, first_k,
        prefix_gate, top_k, stop_ids, max_tokens, degrade,
    )  # fmt: skip
    result = loop.result
    if max_tokens <= 0:
        return
    steps = loop.drafted(draft) if draft > 0 and cloud is not None else loop.per_token()
    for item in steps:
        token = item.token
        result.token_ids.append(token)
        result.text = local.detokenize(result.token_ids)
        result.cloud_tokens += item.cloud_top is not None
        trace = TokenTrace(
            token_id=token,
            text=local.detokenize([token]),
            weight=item.fused.weight,
            local_top=_best(item.local_top),
            cloud_top=_best(item.cloud_top) if item.cloud_top is not None else None,
        )
        result.trace.append(trace)
        result.step_overhead_ms.append(item.overhead_ms)
        if token in loop.stop_ids:
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
        if len(result.token_ids) >= max_tokens:
            return


def _best(top: TopK) -> tuple[int, float]:
    return int(top.ids[0]), float(np.exp(top.logprobs[0]))


def fused_generate(
    local: TokenScorer,
    cloud: TokenScorer | None,
    local_prompt: Sequence[int],
    cloud_prompt: Sequence[int],
    combiner: Combiner,
    **kwargs: object,
) -> FusionResult:
    """Run :func:`fused_tokens` to the end and return the result."""
    steps = fused_tokens(local, cloud, local_prompt, cloud_prompt, combiner, **kwargs)  # type: ignore[arg-type]
    return final_result(steps, prompt_tokens=len(local_prompt))


def final_result(
    steps: Iterator[tuple[TokenTrace, FusionResult]], *, prompt_tokens: int = 0
) -> FusionResult:
    """Run a fused decoding to its end and return its result."""
    final = FusionResult(
        text="",
        token_ids=[],
        trace=[],
        finish_reason="length",
        cloud_tokens=0,
        prompt_tokens=prompt_tokens,
    )
    for _, running in steps:
        final = running
    return final


def turn_stop_ids(local: TokenScorer) -> list[int]:
    """The ids that end the model's turn (its template's end-of-turn and eos tokens)."""
    return chat_template_of(local).stop_ids(local.tokenize)


def fused_chat(
    local: TokenScorer,
    cloud: TokenScorer | None,
    local_messages: Sequence[BaseMessage],
    public_messages: Sequence[BaseMessage],
    combiner: Combiner,
    **options: Any,
) -> Iterator[tuple[TokenTrace, FusionResult]]:
    """:func:`fused_tokens` for a conversation: the local model reads
    ``local_messages`` (with the private context), the cloud scores
    ``public_messages`` and the generated prefix; the end of the turn stops it.

    ``options`` are those of :func:`fused_tokens` (``stop_ids`` adds to the turn's end).
    """
    template = chat_template_of(local)
    local_prompt = local.tokenize(chat_text(list(local_messages), template), add_bos=True)
    cloud_prompt = local.tokenize(chat_text(list(public_messages), template), add_bos=True)
    stop_ids = [*options.pop("stop_ids", ()), *turn_stop_ids(local)]
    return fused_tokens(
        local, cloud, local_prompt, cloud_prompt, combiner, stop_ids=stop_ids, **options
    )
