"""The recognizers of :class:`~langchain_cogenesis.privacy.detection.entities.EntityDetector`.

Each recognizer is one way of finding private spans in a line, behind one interface
(:class:`LineRecognizer`), as presidio-analyzer's are: it reads a
:class:`LineContext` (the line, and the entities the NLP engine found in it once)
and returns ``(start, end, type)`` spans. Its :data:`Stage` says when they count.
The rules behind them live in :mod:`~langchain_cogenesis.privacy.detection.entity_rules`;
the trained tagger's recognizer in :mod:`~langchain_cogenesis.privacy.detection.tagger`.
A :class:`RecognizerRegistry` holds them in order of trust.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from langchain_cogenesis.privacy.detection.entity_rules import (
    amount_spans,
    health_spans,
    keep_recognized,
    name_spans,
    rare_word_spans,
    rule_spans,
)
from langchain_cogenesis.privacy.detection.ner_engine import NlpEngine
from langchain_cogenesis.privacy.detection.spans import Span
from langchain_cogenesis.privacy.detection.tagger import TaggerRecognizer, shipped_tagger

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
