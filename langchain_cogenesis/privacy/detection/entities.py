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
recognizer, :class:`~langchain_cogenesis.privacy.detection.ner_engine.SpacyEngine`)
passed in by constructor and run once per line; the recognizers behind one interface
(:class:`~langchain_cogenesis.privacy.detection.recognizers.LineRecognizer`), each
reading the line and what the engine found in it; a
:class:`~langchain_cogenesis.privacy.detection.recognizers.RecognizerRegistry` that
holds them in order of trust. Add a recognizer to a registry to extend detection; pass
a detector to a :class:`~langchain_cogenesis.privacy.detection.scanner.PrivacyScanner`
to use it.

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

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from langchain_cogenesis.privacy.detection.entity_rules import ANCHOR, PLACEHOLDER, trim_span
from langchain_cogenesis.privacy.detection.ner_engine import NlpEngine, SpacyEngine
from langchain_cogenesis.privacy.detection.recognizers import LineContext, RecognizerRegistry
from langchain_cogenesis.privacy.detection.spans import Hit, Span

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
