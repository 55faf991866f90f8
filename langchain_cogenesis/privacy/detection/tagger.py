"""A token classifier for private spans, trained by this package, run on the device.

Rules and spaCy's small English pipeline read capitals: on real requests they miss
names typed in lower case ("my name is amer"), names inside code, SQL, JSON and CSV,
names in requests written in other languages, and the small organisations and
products people paste (measured in ``bench/privacy.py``). :class:`SpanTagger` reads
the words in context instead:

- the bundled all-MiniLM-L6-v2 encoder (the store's own embedding model, uncased,
  frozen) gives every word piece a 384-dimensional state;
- a few shape features of the word the piece belongs to (capitals, digits, an
  everyday English word or not, letters outside ASCII or outside the Latin script,
  the start of a sentence, code-like punctuation around it) are appended, since the
  encoder is blind to case;
- a small head (a convolution over five neighbouring pieces, then a linear layer:
  :func:`build_head`) gives each piece the probability that it is private and a
  type (``PERSON``, ``ORG``, ``PLACE``, other).

A word is private when its pieces' mean probability reaches the threshold stored
with the weights (chosen by measurement, see docs/privacy.md); neighbouring private
words joined by spaces, ``&``, a hyphen or an initial's full stop make one span.
The head's weights (a few hundred kilobytes) ship in the package
(``tagger_weights/``) and load offline; ``cogenesis train-detector`` trains them
again (:mod:`.tagger_training`). The encoder is run per line, in windows of at most
:data:`WINDOW` pieces.

The tagger is a recognizer of the entity detector's registry
(:class:`TaggerRecognizer`); it needs torch (the ``local`` extra), and without it the
registry leaves it out.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from langchain_cogenesis.errors import ConfigurationError
from langchain_cogenesis.privacy.detection.spans import Span, common_words

logger = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).with_name("tagger_weights")
"""The shipped head: ``head.safetensors`` and ``config.json``."""

KINDS = ("PERSON", "ORG", "PLACE", "PRIVATE")
"""The types the head tells apart; ``PRIVATE`` is every other private value."""

CATEGORY_KIND = {"PERSON": "PERSON", "ORG": "ORG", "PLACE": "PLACE"}
"""Labelled categories with a type of their own; every other category is ``PRIVATE``."""

WINDOW = 200
"""Word pieces per encoder pass (the encoder reads 256 at most)."""

WORD = re.compile(r"[^\W_]+(?:[-'’.@&/][^\W_]+)*", re.UNICODE)
"""A word, as the tagger labels them."""

_JOIN = re.compile(r"[ \t]*[&'’\-]?[ \t]*")
"""What may stand between two private words of one span: spaces, ``&``, a hyphen."""
_INITIAL = re.compile(r"(?:^|\s)[A-Z]$")
_CODE = re.compile(r"[{}\[\]=;<>|\"`]|\b(?:SELECT|INSERT|VALUES|WHERE|def|return|import)\b")
_SENTENCE_END = re.compile(r"(?:^|[.!?:;\"“(\[{]|\n)\s*$")

FEATURES = 10
"""Shape features per word piece (see :func:`word_features`)."""


def _non_latin(char: str) -> bool:
    return char.isalpha() and not unicodedata.name(char, "").startswith("LATIN")


def word_features(line: str, start: int, end: int, code_line: bool) -> list[float]:
    """The shape features of the word ``line[start:end]``."""
    word = line[start:end]
    letters = [ch for ch in word if ch.isalpha()]
    lower = word.casefold()
    return [
        float(word[:1].isupper()),
        float(len(letters) > 1 and all(ch.isupper() for ch in letters)),
        float(any(ch.isdigit() for ch in word)),
        float(lower in common_words()),
        float(any(not ch.isascii() for ch in letters)),
        float(any(_non_latin(ch) for ch in letters)),
        float(bool(_SENTENCE_END.search(line[:start]))),
        float(code_line),
        float("@" in word or "." in word.strip(".")),
        min(len(word), 20) / 20,
    ]


@dataclass(frozen=True)
class EncodedLine:
    """One line as the head reads it."""

    words: list[tuple[int, int]]
    """Character spans of the line's words."""
    piece_word: list[list[int]]
    """Per window: the word index of each piece (``-1`` for special pieces)."""
    states: list[Any]
    """Per window: ``[pieces, 384 + FEATURES]`` inputs of the head."""


def _torch() -> Any:
    import torch

    return torch


def build_head(hidden: int = 384, size: int = 128) -> Any:
    """The head: a convolution over neighbouring pieces, then private + type logits."""
    torch = _torch()

    class TaggerHead(torch.nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv1d(hidden + FEATURES, size, kernel_size=5, padding=2)
            self.out = torch.nn.Linear(size, 1 + len(KINDS))

        def forward(self, inputs: Any) -> Any:
            """``[batch, pieces, features]`` to ``[batch, pieces, 1 + kinds]`` logits."""
            mixed = self.conv(inputs.transpose(1, 2)).transpose(1, 2)
            return self.out(torch.nn.functional.gelu(mixed))

    return TaggerHead()


class LineEncoder:
    """The frozen encoder and the shape features: the head's inputs for a line."""

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        from langchain_cogenesis.retrievers.bert import load_bert_encoder
        from langchain_cogenesis.retrievers.embeddings import bundled_embedding_model_path

        model_path = bundled_embedding_model_path()
        encoder = load_bert_encoder(model_path)
        if encoder is None:  # pragma: no cover - the bundled folder is a plain BERT
            raise RuntimeError(f"{model_path} is not a BERT folder the tagger can read")
        self.encoder = encoder
        self.tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def encode(self, line: str) -> EncodedLine:
        """The head's inputs for ``line``, window by window."""
        torch = _torch()
        words = [(m.start(), m.end()) for m in WORD.finditer(line)]
        code_line = bool(_CODE.search(line))
        features = [word_features(line, a, b, code_line) for a, b in words]
        encoding = self.tokenizer.encode(line, add_special_tokens=False)
        piece_word: list[int] = []
        cursor = 0
        for start, end in encoding.offsets:
            while cursor < len(words) and words[cursor][1] <= start:
                cursor += 1
            inside = cursor < len(words) and words[cursor][0] <= start < words[cursor][1]
            piece_word.append(cursor if inside and end > start else -1)
        windows, states = [], []
        cls_id, sep_id = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        assert cls_id is not None and sep_id is not None  # a BERT vocabulary has both
        blank = [0.0] * FEATURES
        for first in range(0, max(len(encoding.ids), 1), WINDOW):
            ids = [cls_id, *encoding.ids[first : first + WINDOW], sep_id]
            owners = [-1, *piece_word[first : first + WINDOW], -1]
            with torch.inference_mode():
                hidden, _ = self.encoder._forward([_Piece(ids)])
            shape = torch.tensor(
                [features[w] if w >= 0 else blank for w in owners], dtype=torch.float32
            )
            states.append(torch.cat([hidden[0], shape], dim=-1).clone())
            windows.append(owners)
        return EncodedLine(words, windows, states)


# fmt: off
_FUNCTION_WORDS = frozenset((
    "a", "an", "the", "this", "that", "these", "those", "it", "its", "i", "me", "my", "mine",
    "we", "us", "our", "ours", "you", "your", "yours", "he", "him", "his", "she", "her", "hers",
    "they", "them", "their", "theirs", "who", "whom", "whose", "which", "what", "where", "when",
    "why", "how", "in", "on", "at", "by", "for", "from", "to", "of", "with", "without", "about",
    "into", "onto", "over", "under", "after", "before", "between", "through", "during", "and",
    "or", "but", "nor", "so", "yet", "if", "then", "than", "as", "because", "while", "although",
    "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "have", "has",
    "had", "can", "could", "shall", "should", "would", "must", "not", "no", "yes", "please",
    "hi", "hello", "dear", "thanks", "thank", "there", "here", "also", "just", "all", "any",
    "each", "every", "some", "such", "very", "more", "most", "other", "another",
))
# fmt: on
"""Closed-class English words: in any case ("The", "PLEASE"), never a name."""


def _everyday(word: str) -> bool:
    """A closed-class English word in any case ("The"), or an everyday English word in
    lower case ("water"): never private on its own (a capitalized one, "Rose", may be
    a name)."""
    if word.casefold() in _FUNCTION_WORDS:
        return True
    return word.islower() and word.isascii() and word in common_words()


class SpanTagger:
    """The encoder and the trained head; :meth:`spans` of one line.

    Key init args:
        weights: the folder of ``head.safetensors`` and ``config.json`` (default the
            shipped one).
        threshold: the probability from which a word is private (default the one
            stored with the weights).
        everyday_words: also flag everyday English words written in lower case or
            in capitals (off: measured, they were most of the public words the head
            flagged).
    """

    def __init__(
        self,
        weights: Path | None = None,
        *,
        threshold: float | None = None,
        lines: LineEncoder | None = None,
        everyday_words: bool = False,
    ) -> None:
        from safetensors.torch import load_file

        self.everyday_words = everyday_words

        folder = weights or WEIGHTS_DIR
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.config = config
        self.threshold = float(threshold if threshold is not None else config["threshold"])
        self.lines = lines or LineEncoder()
        self.head = build_head(size=int(config.get("size", 128)))
        self.head.load_state_dict(
            {k: v.float() for k, v in load_file(str(folder / "head.safetensors")).items()}
        )
        self.head.eval()
        self._lock = threading.Lock()

    def encode(self, line: str) -> EncodedLine:
        """The head's inputs for ``line``."""
        return self.lines.encode(line)

    def word_scores(self, encoded: EncodedLine) -> list[tuple[float, list[float]]]:
        """Per word: the probability that it is private, and its type probabilities."""
        torch = _torch()
        private_sum = [0.0] * len(encoded.words)
        kind_sum = [[0.0] * len(KINDS) for _ in encoded.words]
        count = [0] * len(encoded.words)
        with torch.inference_mode():
            for owners, states in zip(encoded.piece_word, encoded.states, strict=True):
                logits = self.head(states.unsqueeze(0))[0]
                private: list[float] = torch.sigmoid(logits[:, 0]).tolist()
                kinds: list[list[float]] = torch.softmax(logits[:, 1:], dim=-1).tolist()
                for index, owner in enumerate(owners):
                    if owner < 0:
                        continue
                    private_sum[owner] += private[index]
                    kind_sum[owner] = [
                        a + b for a, b in zip(kind_sum[owner], kinds[index], strict=True)
                    ]
                    count[owner] += 1
        return [
            (total / max(n, 1), [k / max(n, 1) for k in kinds_total])
            for total, kinds_total, n in zip(private_sum, kind_sum, count, strict=True)
        ]

    def spans(self, line: str, *, threshold: float | None = None) -> list[Span]:
        """Private spans of ``line`` as ``(start, end, type)``, from ``threshold`` on
        (default the tagger's own)."""
        if not WORD.search(line):
            return []
        with self._lock:
            encoded = self.encode(line)
            scores = self.word_scores(encoded)
        floor = self.threshold if threshold is None else threshold
        spans: list[Span] = []
        for (start, end), (private, kinds) in zip(encoded.words, scores, strict=True):
            if private < floor or (not self.everyday_words and _everyday(line[start:end])):
                continue
            kind = KINDS[max(range(len(KINDS)), key=kinds.__getitem__)]
            gap = line[spans[-1][1] : start] if spans else ""
            initial = gap.startswith(".") and _INITIAL.search(line[: spans[-1][1]])
            if spans and (_JOIN.fullmatch(gap) or (initial and _JOIN.fullmatch(gap[1:]))):
                spans[-1] = (spans[-1][0], end, spans[-1][2])
            else:
                spans.append((start, end, kind))
        return spans


class _Piece:
    """The fields of a tokenizer encoding that the encoder's forward pass reads."""

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.type_ids = [0] * len(ids)
        self.attention_mask = [1] * len(ids)


def shipped_tagger() -> SpanTagger | None:
    """The tagger of this install, or ``None`` without torch or weights.

    The weights are the shipped ones, or those of the folder ``COGENESIS_TAGGER``
    names (written by ``cogenesis train-detector``).
    """
    from langchain_cogenesis.config import Settings

    configured = Settings.from_env().tagger_path
    folder = str(configured) if configured else ""
    if folder and not (Path(folder) / "head.safetensors").is_file():
        # a configured detector that cannot load must not quietly protect less
        raise ConfigurationError(
            f"COGENESIS_TAGGER={folder!r} holds no head.safetensors: point it at a folder "
            "written by `cogenesis train-detector --out DIR`, or unset it for the shipped one."
        )
    return _load_tagger(folder or str(WEIGHTS_DIR))


@lru_cache(maxsize=2)
def _load_tagger(folder: str) -> SpanTagger | None:
    try:
        return SpanTagger(Path(folder))
    except ImportError:
        logger.warning(
            "torch is not installed, so the trained tagger of private spans is off and "
            "fewer names, organisations and places typed into a request are found. "
            "Install it with: pip install 'langchain-cogenesis[local]'"
        )
        return None
    except (OSError, KeyError, ValueError) as error:
        logger.warning("The tagger's weights in %s cannot be read (%s): tagger off.", folder, error)
        return None


class TaggerRecognizer:
    """The entity detector's recognizer backed by :class:`SpanTagger`.

    Its spans count in a sentence about someone only (a pronoun, a cue, a name,
    another private fact), like health terms. Measured (``bench/privacy.py``): counted
    in every line, the head's words altered a quarter of the public-only requests
    (Title Case topics, uncommon words, with probabilities near 1); counted about
    someone only, 3%, for a few more units leaked.
    """

    name = "tagger"
    stage: Literal["guess"] = "guess"

    def __init__(self, tagger: SpanTagger) -> None:
        self.tagger = tagger

    def spans(self, context: Any) -> list[Span]:
        """The tagger's spans of ``context.line``; none on a re-scan after redaction.

        Like the NLP engine, the tagger reads a line once: a line with placeholders
        is a re-scan, and a reading of it would shift with the placeholders' context.
        """
        if context.redacted:
            return []
        return self.tagger.spans(context.line)
