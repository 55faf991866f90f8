"""Do two models share a tokenizer? Fusion needs the same token ids on both sides."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_cogenesis.errors import TokenizerMismatch
from langchain_cogenesis.fusion.scorers import TokenScorer

PROBES = (
    "Write a short speech for a garden party.",
    "naïve café, Zürich — 東京 🚲 <start_of_turn> 1,234.56%",
    "def fused(p, q):\n    return 0.5 * p + 0.5 * q",
)


@dataclass(frozen=True)
class TokenizerFingerprint:
    """Vocabulary size and a hash of every token's text, in id order."""

    vocab_size: int
    digest: str


def fingerprint(scorer: TokenScorer) -> TokenizerFingerprint:
    """Fingerprint of a model whose whole vocabulary can be read (in-process)."""
    digest = hashlib.sha256()
    size = scorer.vocab_size()
    for token_id in range(size):
        digest.update(scorer.detokenize([token_id]).encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return TokenizerFingerprint(vocab_size=size, digest=digest.hexdigest())


def check_same_tokenizer(local: TokenScorer, cloud: TokenScorer) -> None:
    """Raise :class:`TokenizerMismatch` unless both vocabularies are identical."""
    if local is cloud:
        return
    ours, theirs = fingerprint(local), fingerprint(cloud)
    if ours != theirs:
        raise TokenizerMismatch(
            f"The local model's tokenizer ({ours.vocab_size:,} tokens, {ours.digest[:12]}) "
            f"differs from the cloud model's ({theirs.vocab_size:,} tokens, "
            f"{theirs.digest[:12]}). Logit fusion needs one shared tokenizer; use the "
            "sketch mode (the router graph falls back to it automatically)."
        )


def check_remote_tokenizer(local: TokenScorer, remote_ids: Sequence[Sequence[int]] | None) -> None:
    """Compare the cloud's tokenization of :data:`PROBES` with the local one."""
    if remote_ids is None:
        raise TokenizerMismatch(
            "The cloud endpoint does not expose its tokenizer, so a shared vocabulary "
            "cannot be verified. Use the sketch mode."
        )
    expected = [local.tokenize(text, add_bos=True) for text in PROBES]
    for text, ours, theirs in zip(PROBES, expected, remote_ids, strict=True):
        if list(ours) != list(theirs) and list(ours[1:]) != list(theirs):
            raise TokenizerMismatch(
                f"The cloud tokenizes the probe {text!r} differently from the local model "
                f"({len(theirs)} vs {len(ours)} tokens). Logit fusion needs one shared "
                "tokenizer; use the sketch mode."
            )
