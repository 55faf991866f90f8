"""Typed, keyed placeholders: redact private spans, restore them on the device.

Redaction replaces only the private spans of a payload and keeps the sentence, so
the cloud still sees the request it has to answer::

    Write an invitation to [PERSON_3f9a]'s piano recital at [PLACE_0c41] on [DATE_77e2].

- **Typed.** The type comes from the detector that found the span
  (:func:`placeholder_type`): ``pii:name`` and ``entity:PERSON`` give ``PERSON``,
  ``pii:address`` and ``entity:PLACE`` give ``PLACE``, store-based detectors
  (``ngram``, ``rare_token``, ``canary``) give ``PRIVATE``. Where spans merge, the most
  specific type that covers at least half of the merged span wins
  (:data:`SPECIFICITY`); a name inside a long private phrase stays ``PRIVATE``, so
  the cloud is not told that "Maya owes 1,840 dollars" is a person.
- **Keyed.** The suffix is an HMAC of the value under the install secret
  (:func:`~langchain_cogenesis.privacy.keys.keyed_digest`, purpose ``placeholder``).
  One install gives a value the same placeholder on every turn, so a conversation
  stays coherent and a value restored into the history goes out again as the same
  placeholder; two installs give it unrelated ones, so nobody can join what two
  deployments sent. Two values with the same digest in one mapping, or a
  placeholder that already occurs in the text, get a longer suffix.

Restoration happens on the device only:

- :func:`restore` for a whole answer;
- :class:`StreamRestorer` for streamed text: it holds back only a chunk's tail that
  may still grow into a placeholder (``[PER`` + ``SON_3f9a]``), nothing else;
- :func:`~langchain_cogenesis.privacy.redaction.restoration.restore_message` and
  :class:`~langchain_cogenesis.privacy.redaction.restoration.MessageStreamRestorer` for
  LangChain messages and streams of chunks, tool-call arguments included;
- :class:`~langchain_cogenesis.privacy.redaction.restoration.RestoredValueDetector`, a
  detector of the values restored earlier in a conversation, for later turns.

What the cloud may change and still be restored: the case (``[person_3F9A]``), one
or both brackets (``PERSON_3f9a``), a markdown-escaped underscore
(``PERSON\\_3f9a``). Not restored: another type, a shortened or altered suffix,
spaces instead of the underscore, other brackets around it (their content is
restored, the brackets stay). The keyed suffix is what ties a placeholder to its
value; a looser match could turn ordinary text ("Date 2024") into a private value,
and a placeholder left as it is never puts a wrong value into an answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from langchain_cogenesis.privacy.detection.spans import Hit, merge_spans
from langchain_cogenesis.privacy.keys import keyed_digest

GENERIC_TYPE = "PRIVATE"
"""The type of a span no detector could name (store n-grams, rare tokens, canaries)."""

DETECTOR_TYPES: dict[str, str] = {
    "pii:name": "PERSON",
    "pii:address": "PLACE",
    "pii:date_of_birth": "DATE",
    "private_date": "DATE",
    "pii:email": "EMAIL",
    "pii:phone": "PHONE",
    "pii:card": "ACCOUNT",
    "pii:iban": "ACCOUNT",
    "ngram": GENERIC_TYPE,
    "rare_token": GENERIC_TYPE,
    "canary": GENERIC_TYPE,
}
"""Placeholder type of each detector whose name does not carry it (``entity:PLACE`` does)."""

SPECIFICITY: tuple[str, ...] = (
    "CREDENTIAL",
    "ACCOUNT",
    "EMAIL",
    "PHONE",
    "ID",
    "HEALTH",
    "MONEY",
    "DATE",
    "PERSON",
    "ORG",
    "PLACE",
    "CONTACT",
)
"""Most specific first; a merged span takes the first that covers half of it."""

PLACEHOLDER_PATTERN = re.compile(r"\[([A-Z][A-Z0-9]*)_([0-9a-f]+)\]")
"""A placeholder as :func:`redact_spans` writes it: ``[TYPE_suffix]``."""

SUFFIX_LENGTHS = (4, 6, 8, 10, 12, 16, 24, 32, 48, 64)
"""Hex digits of the keyed suffix, tried in turn until the placeholder is unambiguous."""

_TYPE_NAME = re.compile(r"[A-Z][A-Z0-9]{1,15}")
_WORD = re.compile(r"[^\W\d_]{2,}")


def placeholder_type(detector: str) -> str:
    """The placeholder type of a hit of ``detector`` (``entity:PLACE`` → ``PLACE``)."""
    if detector in DETECTOR_TYPES:
        return DETECTOR_TYPES[detector]
    _, _, kind = detector.partition(":")
    return kind if _TYPE_NAME.fullmatch(kind) else GENERIC_TYPE


def _rank(kind: str) -> int:
    return SPECIFICITY.index(kind) if kind in SPECIFICITY else len(SPECIFICITY)


def _covered(intervals: Iterable[tuple[int, int]]) -> int:
    total, reach = 0, -1
    for start, end in sorted(intervals):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


@dataclass(frozen=True)
class TypedSpan:
    """A merged private span and the placeholder type it gets."""

    start: int
    end: int
    kind: str


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    # a hit inside a word or a number takes the whole of it: "1,840", not "1,[PRIVATE]"
    def inside(index: int) -> bool:
        char = text[index]
        if char.isalnum():
            return True
        return (
            char in ",.-"
            and 0 < index < len(text) - 1
            and text[index - 1].isdigit()
            and text[index + 1].isdigit()
        )

    while start > 0 and inside(start - 1):
        start -= 1
    while end < len(text) and inside(end):
        end += 1
    return start, end


def typed_spans(text: str, hits: Sequence[Hit]) -> list[TypedSpan]:
    """The merged spans of ``hits`` in ``text``, each widened to whole words and typed."""
    widened = [
        Hit(*_widen(text, hit.start, hit.end), hit.detector, hit.text)
        for hit in hits
        if hit.end > hit.start
    ]
    spans = []
    for start, end in merge_spans(widened):
        by_type: dict[str, list[tuple[int, int]]] = {}
        for hit in widened:
            if start <= hit.start and hit.end <= end:
                by_type.setdefault(placeholder_type(hit.detector), []).append((hit.start, hit.end))
        candidates = [
            kind
            for kind, intervals in by_type.items()
            if kind != GENERIC_TYPE and 2 * _covered(intervals) >= end - start
        ]
        kind = min(candidates, key=lambda k: (_rank(k), k)) if candidates else GENERIC_TYPE
        spans.append(TypedSpan(start, end, kind))
    return spans


def _tolerant(type_pattern: str, suffix_pattern: str) -> str:
    # brackets optional, case-insensitive, a markdown-escaped underscore allowed; the
    # type and the suffix must be whole words (ASCII, like the placeholder itself)
    return (
        rf"(?P<open>\[)?(?<![0-9A-Za-z])(?i:(?P<type>{type_pattern})\\?_"
        rf"(?P<suffix>{suffix_pattern}))(?![0-9A-Za-z])(?P<close>\])?"
    )


def _occurs(placeholder: str, text: str) -> bool:
    """Whether :func:`restore` would see ``placeholder`` somewhere in ``text``."""
    match = PLACEHOLDER_PATTERN.fullmatch(placeholder)
    if match is None:
        return placeholder in text
    pattern = _tolerant(re.escape(match[1]), re.escape(match[2]))
    return re.search(pattern, text, re.ASCII) is not None


def placeholder_for(
    value: str,
    kind: str,
    *,
    text: str = "",
    taken: Mapping[str, str] | None = None,
    secret: bytes | None = None,
) -> str:
    """The keyed placeholder of ``value``: ``[KIND_suffix]``.

    The shortest suffix that no other value in ``taken`` uses and that does not
    already occur in ``text`` (so restoring gives ``text`` back exactly).
    """
    taken = taken or {}
    for length in SUFFIX_LENGTHS:
        suffix = keyed_digest(value, purpose="placeholder", length=length, secret=secret)
        placeholder = f"[{kind}_{suffix}]"
        if taken.get(placeholder, value) == value and not _occurs(placeholder, text):
            return placeholder
    raise ValueError(  # needs the secret: a text cannot hold every digest by chance
        "No unambiguous placeholder: the text contains this value's keyed placeholders "
        "at every length. Rotate the install secret (secret.key in COGENESIS_HOME)."
    )


def redact_spans(
    text: str,
    hits: Sequence[Hit],
    *,
    known: Mapping[str, str] | None = None,
    secret: bytes | None = None,
) -> tuple[str, dict[str, str]]:
    """Replace the spans of ``hits`` in ``text`` with typed, keyed placeholders.

    Args:
        text: the payload.
        hits: what the detectors found in it.
        known: placeholders already given out in this request or conversation
            (placeholder → value); a value keeps its placeholder, and no other value
            gets one of them.
        secret: the key of the digests; default the install secret.

    Returns:
        The redacted text and the placeholder → value mapping of the placeholders in
        it; ``restore(redacted, mapping) == text``.
    """
    taken = dict(known or {})
    mapping: dict[str, str] = {}
    pieces, last = [], 0
    for span in typed_spans(text, hits):
        value = text[span.start : span.end]
        placeholder = placeholder_for(value, span.kind, text=text, taken=taken, secret=secret)
        taken[placeholder] = mapping[placeholder] = value
        pieces += [text[last : span.start], placeholder]
        last = span.end
    pieces.append(text[last:])
    return "".join(pieces), mapping


def useful_words(text: str) -> int:
    """Words of two or more letters in ``text`` outside placeholders."""
    return len(_WORD.findall(PLACEHOLDER_PATTERN.sub(" ", text)))


# --- restoration -------------------------------------------------------------------


def json_string_escape(value: str) -> str:
    """``value`` as it must appear inside a JSON string literal."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


_FORMS = [(open_, sep, close) for open_ in ("", "[") for sep in ("_", "\\_") for close in ("", "]")]
"""How a placeholder may come back: brackets or not, an escaped underscore or not."""


class TextRestorer:
    """The placeholders of one mapping: restores them in text, spots a possible start.

    ``encode`` is applied to a value before it is put back (e.g.
    :func:`json_string_escape` inside JSON text).
    """

    def __init__(self, mapping: Mapping[str, str], encode: Callable[[str], str] | None) -> None:
        encode = encode or (lambda value: value)
        self.keyed: dict[tuple[str, str], str] = {}
        self.exact: dict[str, str] = {}
        forms: set[str] = set()
        for placeholder, value in mapping.items():
            match = PLACEHOLDER_PATTERN.fullmatch(placeholder)
            if match is None:
                self.exact[placeholder] = encode(value)
                forms.add(placeholder.lower())
                continue
            kind, suffix = match[1].upper(), match[2].lower()
            self.keyed[(kind, suffix)] = encode(value)
            for open_, sep, close in _FORMS:
                forms.add(f"{open_}{kind}{sep}{suffix}{close}".lower())
        # proper prefixes only: a complete form that cannot grow is restored at once
        self.prefixes = {form[:n] for form in forms for n in range(1, len(form))}
        self.longest = max((len(form) for form in forms), default=0)
        alternatives = []
        if self.exact:
            keys = sorted(self.exact, key=len, reverse=True)
            alternatives.append("(?P<exact>" + "|".join(re.escape(k) for k in keys) + ")")
        if self.keyed:
            types = sorted({kind for kind, _ in self.keyed}, key=len, reverse=True)
            alternatives.append(_tolerant("|".join(types), "[0-9A-Fa-f]+"))
        self.pattern = re.compile("|".join(alternatives), re.ASCII) if alternatives else None

    def _value(self, match: re.Match[str]) -> str:
        exact = match.groupdict().get("exact")
        if exact is not None:
            return self.exact[exact]
        value = self.keyed.get((match["type"].upper(), match["suffix"].lower()))
        if value is None:  # the syntax of a placeholder, not one of ours: leave it
            return match.group()
        return value

    def sub(self, text: str, before: str = "") -> str:
        """``text`` restored; ``before`` is the character preceding it in the stream."""
        if self.pattern is None or not text:
            return text
        full = before + text
        pieces, last = [], len(before)
        for match in self.pattern.finditer(full, len(before)):
            pieces += [full[last : match.start()], self._value(match)]
            last = match.end()
        pieces.append(full[last:])
        return "".join(pieces)

    def open_tail(self, text: str, before: str = "") -> int:
        """Where the tail of ``text`` that may still grow into a placeholder starts."""
        for index in range(max(0, len(text) - self.longest + 1), len(text)):
            tail = text[index:]
            if not tail.isascii() or tail.lower() not in self.prefixes:
                continue
            previous = text[index - 1] if index else before
            if tail[0].isalpha() and previous.isascii() and previous.isalnum():
                continue  # glued to a word: the pattern would not match here either
            return index
        return len(text)


def restore(text: str, mapping: Mapping[str, str]) -> str:
    """Put redacted values back, on the device, where placeholders survived.

    Exact: for ``clean, mapping = redact_spans(text, hits)``, ``restore(clean,
    mapping) == text``. Tolerant of what the cloud may do to a placeholder (see the
    module docs); a placeholder it garbled further is left as it is.
    """
    return TextRestorer(mapping, None).sub(text)


class StreamRestorer:
    """Restores streamed text chunk by chunk, holding back only a possible placeholder.

    A chunk's tail that may still grow into a placeholder of ``mapping`` (``[PER``,
    ``PERSON_3f``, or a complete ``PERSON_3f9a`` whose closing bracket may follow) is
    held until the next chunk decides it; everything before it is returned at once.
    Concatenating every :meth:`feed` and the final :meth:`flush` equals
    ``restore(whole_text, mapping)``.

    Key init args:
        mapping: placeholder → value, from the redaction of the request.
        encode: applied to a value before it is put back, e.g.
            :func:`json_string_escape` for streamed JSON tool-call arguments.

    Stream:
        .. code-block:: python

            restorer = StreamRestorer(decision.redactions)
            for chunk in cloud.stream(messages):
                print(restorer.feed(chunk.text), end="")
            print(restorer.flush())
    """

    def __init__(
        self, mapping: Mapping[str, str], *, encode: Callable[[str], str] | None = None
    ) -> None:
        self._restorer = TextRestorer(mapping, encode)
        self._held = ""
        self._before = ""

    @property
    def held(self) -> str:
        """The text held back so far (not yet restored)."""
        return self._held

    def feed(self, chunk: str) -> str:
        """The restored text that ``chunk`` completes (possibly ``""``)."""
        text = self._held + chunk
        cut = self._restorer.open_tail(text, self._before)
        self._held = text[cut:]
        ready = self._restorer.sub(text[:cut], self._before)
        if cut:
            self._before = text[cut - 1]
        return ready

    def flush(self) -> str:
        """The rest, at the end of the stream."""
        text, self._held = self._held, ""
        ready = self._restorer.sub(text, self._before)
        if text:
            self._before = text[-1]
        return ready
