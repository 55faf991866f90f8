"""Store-held facts in other words: clauses that restate one of the user's private items.

The n-gram and rare-token detectors find the words of the user's store; a request
that says the same in other words ("Given her weekly game night" for the stored
"Has weekly gaming nights with friends online") passes them. :class:`StoredItemMatcher`
cuts the outbound text into clauses (:func:`clause_spans`), embeds each with the
local embedding model the store runs, and marks a clause private when its cosine
similarity to one of the user's stored private items (:class:`StoredItems`: the
sentences of the profile, private details, activity logs, calendar, notes and
e-mail, never the earlier writings) reaches :data:`PARAPHRASE_THRESHOLD`.

Clauses of the package's own prompts (``trusted_texts``) and of the public text the
user gave apart (``public_text``) are never marked; neither is a clause of fewer
than :data:`MIN_CLAUSE_WORDS` words.

The threshold was chosen by measurement on the authors' dev split (docs/privacy.md,
"Store-held facts in other words"; ``bench/redaction.py --sweep``).

Size: a little over 400 lines, the clause cutter and the matcher it exists for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from langchain_cogenesis.errors import MissingExtra
from langchain_cogenesis.privacy.detection.spans import Hit, tokens
from langchain_cogenesis.privacy.detection.splitter import sentence_spans

if TYPE_CHECKING:
    from numpy.typing import NDArray

PARAPHRASE_THRESHOLD = 0.55
"""Cosine similarity from which a clause restates a stored item (see the module docs)."""

MIN_CLAUSE_WORDS = 2
"""Words (outside placeholders) a clause needs to be compared at all."""

MAX_CLAUSE_WORDS = 32
"""A longer clause is compared in pieces of this many words (the encoder averages
its tokens: one fact in a long clause would be drowned)."""

WINDOW_SHARE = 0.3
"""A word is part of a hit when leaving it out lowers the clause's similarity by at
least this share of the largest such drop (and by :data:`MIN_DROP`)."""

MIN_DROP = 0.02
"""The least drop of similarity that makes a word part of a hit."""

MAX_WINDOW_ROUNDS = 3
"""Rounds of leaving words out before the whole clause is the hit."""

MAX_PIECES = 2
"""Hidden pieces a clause may keep; with more, one piece from the first to the last."""

MIN_WINDOW_WORDS = 3
"""A clause of this many words or fewer is a hit as a whole."""

MAX_ITEMS = 512
"""Stored items embedded per user, in the order of :data:`ITEM_KINDS`."""

ITEM_KINDS = ("profile", "private_detail", "activity_log", "calendar", "note", "email")
"""Document kinds whose sentences are private items (the prompt's profile section,
:data:`~langchain_cogenesis.prompts.PROFILE_KINDS`); earlier writings are not."""

_PROFILE_SKIP = ("name", "age", "writing style", "ai assistant usage")
"""Profile lines that are no item: names are the PII detector's, an age alone says
little, and a writing style or the tasks the user gives an assistant read like the
request itself."""
_CLAUSE_BREAK = re.compile(r"\s*[,;:]\s+|\s+[—–]\s+|\s*\n\s*|\s+(?:while|whereas)\s+", re.I)
_REMEMBERED = 4096  # clause similarities one matcher keeps
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9]*_[0-9a-f]+\]")
_EDGE = " \t\"'“”‘’(){}.!?,;:-–—"  # not brackets: a placeholder ends in one


def clause_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each clause of ``text``: sentences cut at ``, ; :``, dashes,
    line breaks and "while"/"whereas", edges trimmed of spaces, quotes and stops."""
    spans: list[tuple[int, int]] = []
    for sentence_start, sentence_end in sentence_spans(text):
        start = sentence_start
        sentence = text[sentence_start:sentence_end]
        for cut in _CLAUSE_BREAK.finditer(sentence):
            spans.append((start, sentence_start + cut.start()))
            start = sentence_start + cut.end()
        spans.append((start, sentence_end))
    return [trimmed for span in spans if (trimmed := _trim(text, *span))[0] < trimmed[1]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _EDGE:
        start += 1
    while end > start and text[end - 1] in _EDGE:
        end -= 1
    return start, end


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The clause, or its pieces of :data:`MAX_CLAUSE_WORDS` words when longer."""
    words = tokens(text[start:end])
    if len(words) <= MAX_CLAUSE_WORDS:
        return [(start, end)]
    return [
        (start + words[i][1], start + words[min(i + MAX_CLAUSE_WORDS, len(words)) - 1][2])
        for i in range(0, len(words), MAX_CLAUSE_WORDS)
    ]


def _words(clause: str) -> int:
    return len(tokens(_PLACEHOLDER.sub(" ", clause)))


def _key(clause: str) -> str:
    return " ".join(word for word, _, _ in tokens(clause))


def comparable(clause: str) -> str:
    """``clause`` as it is embedded: placeholders left out, spaces collapsed."""
    return " ".join(_PLACEHOLDER.sub(" ", clause).split()).strip(_EDGE)


def _parts(kind: str, content: str) -> list[str]:
    """A stored document's values, ``;``-separated lists apart; a profile's by line,
    the lines of :data:`_PROFILE_SKIP` left out."""
    if kind != "profile":
        return [part for line in content.splitlines() for part in line.split(";")]
    parts = []
    for line in content.splitlines():
        key, colon, value = line.partition(":")
        if colon and key.strip().lower() in _PROFILE_SKIP:
            continue
        values = value.split(";") if colon else [line]
        parts += [f"{key.strip()}: {v.strip()}" if colon else v for v in values]
    return parts


def item_texts(documents: Iterable[Document]) -> list[str]:
    """The private items of a user's stored documents: the sentences of each value of
    documents of :data:`ITEM_KINDS`, in that order, without repeats (at most
    :data:`MAX_ITEMS`)."""
    by_kind: dict[str, list[str]] = {kind: [] for kind in ITEM_KINDS}
    for document in documents:
        kind = str(document.metadata.get("kind", ""))
        if kind in by_kind:
            by_kind[kind].append(document.page_content)
    items: dict[str, None] = {}
    for kind in ITEM_KINDS:
        for content in by_kind[kind]:
            for part in _parts(kind, content):
                for start, end in sentence_spans(part):
                    sentence = part[start:end].strip()
                    if _words(sentence) >= MIN_CLAUSE_WORDS:
                        items.setdefault(sentence)
    return list(items)[:MAX_ITEMS]


def _matrix(vectors: Sequence[Sequence[float]]) -> NDArray[Any]:
    with MissingExtra.if_absent("local", "Matching stored facts (numpy)"):
        import numpy as np

    if not len(vectors):
        return np.zeros((0, 0), dtype=np.float32)
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class StoredItems:
    """One user's private items and their embeddings, computed once per user.

    Build it with :meth:`from_documents`; the store keeps it beside the user's
    leak-detector index (``PrivateStore.derived``), dropped when the user's documents
    change.
    """

    texts: tuple[str, ...]
    vectors: Any
    """``[len(texts), dimensions]`` L2-normalized float32 array."""

    @classmethod
    def from_documents(cls, documents: Iterable[Document], embeddings: Embeddings) -> StoredItems:
        """Embed the items (:func:`item_texts`) of a user's stored ``documents``."""
        texts = item_texts(documents)
        return cls(tuple(texts), _matrix(embeddings.embed_documents(texts) if texts else []))

    def __len__(self) -> int:
        return len(self.texts)


class StoredItemMatcher:
    """Spans of the outbound text that restate one of the user's stored private items.

    A clause whose similarity to an item reaches ``threshold`` is private. Its hit is
    the part of it that makes it so: each word is left out in turn, and the words
    whose absence lowers the similarity most (at least :data:`WINDOW_SHARE` of the
    largest drop) span the hit, so that ``Create a script for your monthly dinner
    party`` goes out as ``Create a script for your monthly [PRIVATE_3f9a]``. When the
    rest of the clause would still reach the threshold, the hit is the whole clause.

    Key init args:
        items: the user's :class:`StoredItems`.
        embeddings: the model the items were embedded with (the store's
            :class:`~langchain_cogenesis.retrievers.LocalEmbeddings`); it must run on
            this machine: the clauses it embeds are what is about to be checked.
        threshold: cosine similarity from which a clause is private.
        public_text: the public part the user gave apart; its clauses are not marked.
        trusted_texts: fixed text of this package's prompts; not embedded, not marked.

    Instantiate:
        .. code-block:: python

            from langchain_cogenesis.privacy.detection.paraphrase import (
                StoredItemMatcher,
                StoredItems,
            )
            from langchain_cogenesis.retrievers import LocalEmbeddings

            embeddings = LocalEmbeddings()
            items = StoredItems.from_documents(store.documents("maya"), embeddings)
            scanner.detectors.append(StoredItemMatcher(items, embeddings))

    Each clause's similarity and hidden parts are kept for the life of the matcher
    (one request), so the scans of one decision embed a clause once.
    """

    name = "paraphrase"

    def __init__(
        self,
        items: StoredItems,
        embeddings: Embeddings,
        *,
        threshold: float = PARAPHRASE_THRESHOLD,
        public_text: str = "",
        trusted_texts: Iterable[str] = (),
    ) -> None:
        self.items = items
        self.embeddings = embeddings
        self.threshold = threshold
        self.public_text = public_text
        self.trusted_texts = [text for text in trusted_texts if text.strip()]
        self.excluded = {_key(public_text[a:b]) for a, b in clause_spans(public_text)}
        self._similarity: dict[str, tuple[float, int]] = {}
        # per threshold: what is left of a clause must fall below the one in force
        self._hidden: dict[tuple[str, float], list[tuple[int, int]]] = {}

    def _skipped_spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for skipped in [*self.trusted_texts, self.public_text]:
            if not skipped.strip():
                continue
            start = text.find(skipped)
            while start != -1:
                spans.append((start, start + len(skipped)))
                start = text.find(skipped, start + 1)
        return spans

    def clauses(self, text: str) -> list[tuple[int, int]]:
        """The clauses of ``text`` this matcher compares (outside skipped spans)."""
        skipped = self._skipped_spans(text)
        cuts = sorted({0, len(text), *(edge for span in skipped for edge in span)})
        found = []
        for start, end in pairwise(cuts):
            if any(a <= start and end <= b for a, b in skipped):
                continue
            for a, b in clause_spans(text[start:end]):
                for piece in _pieces(text, start + a, start + b):
                    clause = text[piece[0] : piece[1]]
                    if _words(clause) >= MIN_CLAUSE_WORDS and _key(clause) not in self.excluded:
                        found.append(piece)
        return found

    def _best(self, clauses: Sequence[str]) -> list[tuple[float, int]]:
        """Each clause's highest similarity to an item, and that item's index."""
        if len(self._similarity) + len(clauses) > _REMEMBERED:  # bounded, like a request
            self._similarity.clear()
        keys = [comparable(clause) for clause in clauses]
        new = [key for key in dict.fromkeys(keys) if key not in self._similarity]
        if new:
            scores = self._scores(new)
            best = scores.argmax(axis=1)
            self._similarity.update(
                (key, (float(scores[i, best[i]]), int(best[i]))) for i, key in enumerate(new)
            )
        return [self._similarity[key] for key in keys]

    def _scores(self, texts: Sequence[str]) -> NDArray[Any]:
        return _matrix(self.embeddings.embed_documents(list(texts))) @ self.items.vectors.T  # type: ignore[no-any-return]

    def similarities(self, clauses: Sequence[str]) -> list[float]:
        """Each clause's highest cosine similarity to a stored item."""
        if not len(self.items):
            return [0.0] * len(clauses)
        return [score for score, _ in self._best(clauses)]

    def windows(self, flagged: Sequence[tuple[str, int]]) -> list[list[tuple[int, int]]]:
        """For each ``(clause, item)``, the parts of the clause (offsets in it) that
        restate stored item ``item``: words left out in turn (one embedding batch for
        all clauses), the span of those that matter hidden, and again on what is left
        while that still reaches the threshold (:data:`MAX_WINDOW_ROUNDS`); then the
        whole clause."""
        hidden: list[list[tuple[int, int]]] = [[] for _ in flagged]
        items = [item for _, item in flagged]
        open_ = [
            i for i, (clause, _) in enumerate(flagged) if len(tokens(clause)) > MIN_WINDOW_WORDS
        ]
        for i, (clause, _) in enumerate(flagged):
            if i not in open_:
                hidden[i] = [(0, len(clause))]
        for _ in range(MAX_WINDOW_ROUNDS):
            if not open_:
                break
            visible = {i: _visible(flagged[i][0], hidden[i]) for i in open_}
            variants = [
                _cut(flagged[i][0], [*hidden[i], (a, b)]) for i in open_ for _, a, b in visible[i]
            ]
            scores = self._scores([comparable(v) for v in variants]) if variants else None
            row = 0
            for i in open_:
                clause, words = flagged[i][0], visible[i]
                full = self._best([_cut(clause, hidden[i])])[0][0]
                drops = (
                    [full - float(v) for v in scores[row : row + len(words), items[i]]]
                    if scores is not None
                    else []
                )
                row += len(words)
                least = max(MIN_DROP, WINDOW_SHARE * max(drops, default=0.0))
                marked = [k for k, drop in enumerate(drops) if drop >= least]
                if not marked:
                    hidden[i] = [(0, len(clause))]
                    continue
                pieces = _merge(clause, [*hidden[i], *_runs(words, marked)])
                # more pieces than MAX_PIECES read as noise: one from the first to the last
                hidden[i] = pieces if len(pieces) <= MAX_PIECES else [(pieces[0][0], pieces[-1][1])]
            rests = {i: _cut(flagged[i][0], hidden[i]) for i in open_}
            checked = [i for i in open_ if _words(rests[i]) >= MIN_CLAUSE_WORDS]
            still = self._best([rests[i] for i in checked])
            open_ = []
            for i, (score, item) in zip(checked, still, strict=True):
                if score >= self.threshold:  # what is left restates an item on its own
                    open_.append(i)
                    items[i] = item
        for i in open_:
            hidden[i] = [(0, len(flagged[i][0]))]
        return hidden

    def find(self, text: str) -> list[Hit]:
        """The parts of the clauses that restate a stored item."""
        if not len(self.items):
            return []
        spans = self.clauses(text)
        best = self._best([text[a:b] for a, b in spans])
        flagged = [
            (span, item)
            for span, (score, item) in zip(spans, best, strict=True)
            if score >= self.threshold
        ]
        clauses = [(text[a:b], item) for (a, b), item in flagged]
        key = self.threshold
        new = [(c, item) for c, item in dict.fromkeys(clauses) if (c, key) not in self._hidden]
        if len(self._hidden) + len(new) > _REMEMBERED:
            self._hidden.clear()
        self._hidden.update(zip(((c, key) for c, _ in new), self.windows(new), strict=True))
        windows = [self._hidden[c, key] for c, _ in clauses]
        return [
            Hit(a + start, a + end, self.name, text[a + start : a + end])
            for ((a, _), _), parts in zip(flagged, windows, strict=True)
            for start, end in parts
        ]


def _cut(clause: str, runs: Sequence[tuple[int, int]]) -> str:
    """``clause`` without ``runs`` (offsets in it)."""
    kept, last = [], 0
    for start, end in sorted(runs):
        kept.append(clause[last:start])
        last = max(last, end)
    return " ".join([*kept, clause[last:]])


def _visible(clause: str, runs: Sequence[tuple[int, int]]) -> list[tuple[str, int, int]]:
    return [w for w in tokens(clause) if not any(a <= w[1] and w[2] <= b for a, b in runs)]


def _runs(words: Sequence[tuple[str, int, int]], marked: Sequence[int]) -> list[tuple[int, int]]:
    """Spans of the marked words, a run going on across one unmarked word."""
    runs: list[list[int]] = []
    for k in marked:
        if runs and k - runs[-1][-1] <= 2:
            runs[-1].append(k)
        else:
            runs.append([k])
    return [(words[run[0]][1], words[run[-1]][2]) for run in runs]


def _merge(clause: str, runs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """``runs`` merged where they overlap or one word at most stands between them."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(runs):
        if merged and len(tokens(clause[merged[-1][1] : start])) <= 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
