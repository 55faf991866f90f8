"""Word-overlap metrics of the paper's Table 3: BLEU (sacrebleu) and ROUGE-L (rouge-score),
and bootstrap confidence intervals for them (and for any per-sample figure).

With a few dozen samples a difference of a point or two between settings is noise
as often as not; :func:`paired_difference` and :func:`paired_bleu_difference`
resample the same samples for both settings and say whether the difference's
interval excludes zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_cogenesis.errors import MissingExtra

with MissingExtra.if_absent("eval", "BLEU, ROUGE-L and their intervals"):
    import numpy as np


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (0-100) of ``hypotheses`` against one reference each."""
    with MissingExtra.if_absent("eval", "BLEU"):
        import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError("one reference per hypothesis")
    if not hypotheses:
        return 0.0
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score)


@lru_cache(maxsize=1)
def _rouge() -> Any:
    with MissingExtra.if_absent("eval", "ROUGE-L"):
        from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Mean ROUGE-L F-measure (0-100) over the pairs."""
    if len(hypotheses) != len(references):
        raise ValueError("one reference per hypothesis")
    if not hypotheses:
        return 0.0
    scores = [
        _rouge().score(ref, hyp)["rougeL"].fmeasure
        for hyp, ref in zip(hypotheses, references, strict=True)
    ]
    return float(100 * sum(scores) / len(scores))


def rouge_l_per_sample(hypotheses: Sequence[str], references: Sequence[str]) -> list[float]:
    """ROUGE-L F-measure (0-100) of each pair, for intervals over samples."""
    if len(hypotheses) != len(references):
        raise ValueError("one reference per hypothesis")
    return [
        100 * float(_rouge().score(ref, hyp)["rougeL"].fmeasure)
        for hyp, ref in zip(hypotheses, references, strict=True)
    ]


@dataclass(frozen=True)
class Interval:
    """A statistic and its bootstrap confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float = 0.95

    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly above or below zero (for differences)."""
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, float]:
        """For JSON."""
        return {"estimate": self.estimate, "low": self.low, "high": self.high}

    def __str__(self) -> str:
        return f"{self.estimate:.2f} [{self.low:.2f}, {self.high:.2f}]"


def bootstrap(
    statistic: Callable[[np.ndarray], float],
    size: int,
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap of ``statistic`` over ``size`` samples.

    ``statistic`` takes an array of sample indices (drawn with replacement) and
    returns the statistic of those samples; it is called once on ``0..size-1`` for
    the estimate and ``resamples`` times on resampled indices. Passing the same
    indices to both settings of a difference makes it a paired bootstrap.
    """
    if size < 1:
        raise ValueError("the bootstrap needs at least one sample")
    if not 0 < confidence < 1:
        raise ValueError("confidence is a share between 0 and 1")
    generator = np.random.default_rng(seed)
    draws = generator.integers(0, size, size=(resamples, size))
    values = np.array([statistic(indices) for indices in draws])
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(statistic(np.arange(size))), float(low), float(high), confidence)


def mean_interval(values: Sequence[float], **options: Any) -> Interval:
    """The mean of per-sample ``values`` with its bootstrap interval."""
    array = np.asarray(values, dtype=np.float64)
    return bootstrap(lambda indices: float(array[indices].mean()), len(array), **options)


def paired_difference(ours: Sequence[float], baseline: Sequence[float], **options: Any) -> Interval:
    """Mean of ``ours - baseline`` per sample, with its paired bootstrap interval."""
    if len(ours) != len(baseline):
        raise ValueError("a paired difference needs the same samples on both sides")
    difference = np.asarray(ours, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    return bootstrap(lambda indices: float(difference[indices].mean()), len(difference), **options)


def bleu_interval(hypotheses: Sequence[str], references: Sequence[str], **options: Any) -> Interval:
    """Corpus BLEU with a bootstrap interval over samples."""
    if len(hypotheses) != len(references):
        raise ValueError("one reference per hypothesis")
    return bootstrap(
        lambda indices: bleu([hypotheses[i] for i in indices], [references[i] for i in indices]),
        len(hypotheses),
        **options,
    )


def paired_bleu_difference(
    ours: Sequence[str], baseline: Sequence[str], references: Sequence[str], **options: Any
) -> Interval:
    """Corpus BLEU of ``ours`` minus that of ``baseline``, paired bootstrap over samples."""
    if not len(ours) == len(baseline) == len(references):
        raise ValueError("a paired difference needs the same samples on both sides")

    def difference(indices: np.ndarray) -> float:
        refs = [references[i] for i in indices]
        return bleu([ours[i] for i in indices], refs) - bleu([baseline[i] for i in indices], refs)

    return bootstrap(difference, len(references), **options)
