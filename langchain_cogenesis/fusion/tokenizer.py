"""Do two models share a tokenizer? Fusion needs the same token ids on both sides.

The checks are costly (a walk over a 262k-token vocabulary, or a cloud round trip),
and their answers change only when a model file or an endpoint's model changes, so
they are cached per local model file (path, size and modification time) and cloud
endpoint (base URL and model name), bounded in size and age
(:class:`~langchain_cogenesis.caches.BoundedCache`). A scorer that names no model
file is checked every time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_cogenesis.caches import BoundedCache
from langchain_cogenesis.errors import TokenizerMismatch
from langchain_cogenesis.fusion.scorers import RemoteCompletionScorer, TokenScorer

PROBES = (
    "Write a short speech for a garden party.",
    "naïve café, Zürich — 東京 🚲 <start_of_turn> 1,234.56%",
    "def fused(p, q):\n    return 0.5 * p + 0.5 * q",
)
CHECK_MAX_AGE = 600.0
"""Seconds a cloud endpoint's tokenizer verdict is trusted before it is probed again
(an endpoint may be redeployed with another model under the same name)."""
VOCABULARY_MAX_AGE = 3600.0
"""Seconds a local file's fingerprint or piece map is kept (the key also holds the
file's size and modification time, so a replaced file is read again at once)."""

VocabularyKey = tuple[str, int, int]

_fingerprints: BoundedCache[VocabularyKey, TokenizerFingerprint] = BoundedCache(
    max_size=8, max_age=VOCABULARY_MAX_AGE
)
# a piece map of a 262k vocabulary is tens of MB: keep very few
_piece_maps: BoundedCache[VocabularyKey, dict[str, int]] = BoundedCache(
    max_size=2, max_age=VOCABULARY_MAX_AGE
)
# (base URL, model, local file) -> "" when they match, else the mismatch message
_remote_verdicts: BoundedCache[tuple[str, str, VocabularyKey], str] = BoundedCache(
    max_size=32, max_age=CHECK_MAX_AGE
)


@dataclass(frozen=True)
class TokenizerFingerprint:
    """Vocabulary size and a hash of every token's text, in id order."""

    vocab_size: int
    digest: str


def vocabulary_key(scorer: Any) -> VocabularyKey | None:
    """The cache key of a scorer's vocabulary: its GGUF's path, size and modification
    time; ``None`` for a scorer without a ``model_path`` file (never cached)."""
    path = getattr(scorer, "model_path", None)
    if not isinstance(path, str | Path):
        return None
    try:
        resolved = Path(path).resolve()
        stat = resolved.stat()
    except OSError:
        return None
    return (str(resolved), stat.st_size, stat.st_mtime_ns)


def fingerprint(scorer: TokenScorer) -> TokenizerFingerprint:
    """Fingerprint of a model whose whole vocabulary can be read (in-process)."""
    digest = hashlib.sha256()
    size = scorer.vocab_size()
    for token_id in range(size):
        digest.update(scorer.detokenize([token_id]).encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return TokenizerFingerprint(vocab_size=size, digest=digest.hexdigest())


def _cached_fingerprint(scorer: TokenScorer) -> TokenizerFingerprint:
    key = vocabulary_key(scorer)
    if key is None:
        return fingerprint(scorer)
    return _fingerprints.get_or_create(key, lambda: fingerprint(scorer))


def piece_map(vocabulary: TokenScorer) -> dict[str, int]:
    """Token text → id for the whole vocabulary (first id wins), cached per model file.

    A cloud's top tokens arrive as text; this maps them back to shared ids.
    """
    key = vocabulary_key(vocabulary)

    def build() -> dict[str, int]:
        pieces: dict[str, int] = {}
        for token_id in range(vocabulary.vocab_size()):
            pieces.setdefault(vocabulary.detokenize([token_id]), token_id)
        return pieces

    return build() if key is None else _piece_maps.get_or_create(key, build)


def check_same_tokenizer(local: TokenScorer, cloud: TokenScorer) -> None:
    """Raise :class:`TokenizerMismatch` unless both vocabularies are identical."""
    if local is cloud:
        return
    local_key = vocabulary_key(local)
    if local_key is not None and local_key == vocabulary_key(cloud):
        return  # one model file: one tokenizer
    ours, theirs = _cached_fingerprint(local), _cached_fingerprint(cloud)
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


def verify_remote_tokenizer(guard: Any, local: TokenScorer) -> None:
    """Probe the cloud behind ``guard`` (through the guard: scanned and audited) and
    compare its tokenizer with ``local``'s; the verdict is cached per endpoint, model
    and local file. An endpoint that could not be asked is asked again next time.

    Raises:
        TokenizerMismatch: the vocabularies differ, or the endpoint does not tell.
    """
    vocabulary = vocabulary_key(local)
    base_url, model = getattr(guard, "base_url", None), getattr(guard, "model", None)
    key = (
        (base_url, model, vocabulary)
        if isinstance(base_url, str) and isinstance(model, str) and vocabulary is not None
        else None
    )
    verdict = _remote_verdicts.get(key) if key is not None else None
    if verdict is None:
        remote_ids = guard.remote_token_ids(PROBES)
        try:
            check_remote_tokenizer(local, remote_ids)
            verdict = ""
        except TokenizerMismatch as mismatch:
            verdict = str(mismatch)
        if key is not None and remote_ids is not None:
            _remote_verdicts.put(key, verdict)
    if verdict:
        raise TokenizerMismatch(verdict)


def remote_cloud_scorer(
    guard: Any, local: TokenScorer, *, scanner: Any, user_id: str
) -> RemoteCompletionScorer:
    """The cloud behind ``guard`` as a scorer on ``local``'s vocabulary, after the
    (cached) tokenizer check.

    Raises:
        TokenizerMismatch: the cloud's tokenizer differs from the local one.
    """
    verify_remote_tokenizer(guard, local)
    return RemoteCompletionScorer(
        guard,
        local,
        scanner=scanner,
        user_id=user_id,
        skip_ids=local.tokenize("", add_bos=True),
    )


def clear_tokenizer_caches() -> None:
    """Forget every cached verdict, fingerprint and piece map (tests, or after a
    cloud endpoint changed its model under the same name)."""
    _fingerprints.clear()
    _piece_maps.clear()
    _remote_verdicts.clear()
