"""Word-overlap metrics of the paper's Table 3: BLEU (sacrebleu) and ROUGE-L (rouge-score)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any


def bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (0-100) of ``hypotheses`` against one reference each."""
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError("one reference per hypothesis")
    if not hypotheses:
        return 0.0
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score)


@lru_cache(maxsize=1)
def _rouge() -> Any:
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
