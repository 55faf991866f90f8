"""Rules and lexicons of :mod:`langchain_cogenesis.privacy.detection.entities`.

Patterns for what has a shape (credentials, ID numbers, contacts, amounts, dates),
lexicons and cues for what has none (health terms, names after "my sister" or
"Dr."), and the choice of which recognized entities are private in a writing
request. Each function takes one line and returns ``(start, end, type)`` spans.
"""

from __future__ import annotations

import re

from langchain_cogenesis.privacy.detection.lexicons import HEALTH_TERMS, NAME_CUES, ORG_SUFFIXES
from langchain_cogenesis.privacy.detection.spans import PII_PATTERNS, Span, common_words

PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_]*_[0-9A-Za-z]+\]")
"""A placeholder left by redaction: never itself private, never part of a span."""

ANCHOR = re.compile(
    r"\b(?:I|I'm|I've|I'd|(?i:me|my|mine|we|our|us|your|yours|her|his|their|she|he|"
    r"mom|dad|wife|husband|son|daughter|sister|brother|friend|boss))\b"
)
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_DAY = r"(?:[0-2]?\d|3[01])(?:st|nd|rd|th)?"
_DATE_RULE = re.compile(
    rf"\b(?:{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?|{_MONTH}\s+{_DAY}\b(?:,?\s+\d{{4}})?|"
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./]\d{1,2}[./]\d{2,4})"
)
_SPECIFIC_DATE = re.compile(rf"\d|\b{_MONTH}(?!\w)|\b(?:next|last|this)\s+\w+day\b", re.I)
_MONEY_WORDS = re.compile(
    r"\b(?:salary|base|pay|paid|comp|compensation|rent|owe[sd]?|debt|loan|budget|earn\w*|"
    r"income|offer|raise|bonus|savings|mortgage|price|cost|fee|invoice|bill)\b",
    re.I,
)
_THOUSANDS = re.compile(r"\b\d+(?:\.\d+)?\s?[kK]\b")
_MONEY_RULE = re.compile(
    r"(?:[$€£¥]|\b(?:USD|EUR|GBP|CHF|CAD|AUD|Rs\.?|INR)\s?)\s?\d[\d,.]*(?:\s?(?:k|K|m|M|bn|"
    r"million|billion|thousand))?\b|\b\d[\d,.]*\s?(?:k\s)?(?:dollars|euros|pounds|bucks|"
    r"USD|EUR|GBP|rupees|yen)\b"
)
_CREDENTIAL_VALUE = re.compile(
    r"\b(?:password|passcode|passphrase|pass\s?word|PIN|pin\s?code|api[\s_-]?key|secret|"
    r"token|access\s?key|wi-?fi\s?(?:password|key)|login|credentials?)"
    r"(?:\s+(?:is|was|=|:)|\s*[:=])\s*[\"'“]?(?P<value>[^\s\"'”]{4,})",
    re.I,
)
_CREDENTIAL_FORMAT = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|"
    r"xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{30,}|"
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
_ID_KEYWORDED = re.compile(
    r"\b(?:account|acct|member(?:ship)?|policy|patient|customer|client|employee|staff|"
    r"student|passport|licen[cs]e|routing|sort\s?code|tax|VAT|case|claim|order|booking|"
    r"confirmation|reservation|reference|ref|ticket|tracking|invoice|NHS|SSN|NI|social\s+"
    r"security|ID|badge|plate|registration|serial|IBAN|BIC|SWIFT)\b"
    r"(?:\s+(?:number|no\.?|num|code|ID|#))?\s*(?:is\b|was\b|:|#|=)?\s*"
    r"(?P<value>(?=[A-Z0-9/-]*\d)[A-Z0-9][A-Z0-9/-]{3,}\b)",
    re.I,
)
_ID_FORMAT = re.compile(
    r"\b\d{3}-\d{2}-\d{4}\b|\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b"
    r"|\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9][A-Z0-9-]{5,}\b|\b\d{6,}\b"
    # tokens, passwords and keys: upper and lower case letters mixed with digits; not a
    # word numbered by one or two digits ("Task3", "Skeleton12", "Python3"), which is
    # how prompts and products count (the paper's sketch prompt writes "[Task3]:")
    r"|\b(?![A-Z]?[a-z]+\d{1,2}\b)"
    r"(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[a-z])(?=[A-Za-z0-9-]*[A-Z])[A-Za-z0-9][A-Za-z0-9-]{4,}\b"
)
_CONTACT = re.compile(
    r"https?://\S+|\bwww\.\S+|(?<![\w@.])@[A-Za-z0-9_]{3,}\b|\b[\w-]+\.(?:com|org|net|io|dev)/\S+"
)
_HEALTH_CONTEXT = re.compile(
    r"\b(?:diagnosed\s+with|suffer(?:s|ing)?\s+from|living\s+with|recovering\s+from|"
    r"treated\s+for|prescribed|allergic\s+to|surgery\s+(?:on|for)\s+(?:my|her|his))\s+"
    r"(?P<value>(?:an?\s+|the\s+)?[\w'-]+(?:\s+[\w'-]+){0,2})",
    re.I,
)
_HEALTH_HEAD = re.compile(
    r"\b(?:[\w'’-]+\s+){0,2}?(?:[\w'’-]+\s+)?(?:disease|syndrome|disorder|deficiency|"
    r"infection|cancer|injury|fever|palsy)\b"
    r"|\b[A-Za-z]+(?:itis|osis|oma|emia|aemia|pathy|paresis|plegia|algia|ectomy|otomy|"
    r"lepsy|phobia|trophy|penia|cardia|rrhea|rrhoea|uria)\b",
    re.I,
)
_HEALTH_SLOT = re.compile(
    r"\b(?:my|her|his|their|our)\s+(?P<value>[\w'’-]+(?:\s+[\w'’-]+)?)\s+(?:diagnosis|"
    r"refill|prescription|treatment|medication|meds|flare-?ups?|symptoms|surgery|"
    r"infusions?|injections?|dose|appointments?)\b"
    r"|\bwho\s+(?:has|had|lives\s+with)\s+(?P<condition>[\w'’-]+(?:\s+[A-Z0-9]+)?)\s*[.,;]",
    re.I,
)
_DOSE = re.compile(r"\b[A-Za-z][\w-]+\s+\d+(?:\.\d+)?\s?(?:mg|mcg|ml|units)\b", re.I)
_HEALTH_LEXICON = re.compile(
    r"\b(?:(?:early|late)-onset\s+|type\s+(?:1|2|one|two|I|II)\s+|chronic\s+|severe\s+|mild\s+|acute\s+|torn\s+|broken\s+)?"
    r"(?:" + "|".join(sorted((re.escape(t) for t in HEALTH_TERMS), key=len, reverse=True)) + r")"
    r"(?:e?s)?\b(?:\s+(?:machine|pump|monitor|sensor|implant|device|meds|tablets|pills)\b)?",
    re.I,
)
_UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĖĘĚĞĠĢĪĮİĶĹĻĽŁŃŅŇŌŐŒŔŘŚŜŞŠŢŤŪŮŰŲŹŻŽ"
"""Capitals of the Latin script, accented ones included ("Émile", "Łucja")."""
_NAME_WORD = rf"[{_UPPER}][^\W\d_]*(?:['’-][^\W\d_]+)*"
_NAME_CUE = re.compile(
    r"\b(?:" + "|".join(NAME_CUES) + rf")\s+(?P<value>{_NAME_WORD}(?:\s+{_NAME_WORD})?)"
)
_ADDRESSED = re.compile(
    r"^(?P<value>[A-Z][a-z'’-]+)\s+here\b|\b(?:note|e-?mail|text|message|letter|card|toast|"
    r"poem|invitation|speech|reply|apology|eulogy|recommendation|vows)\s+(?:to|for|from|about)\s+"
    r"(?:my\s+\w+\s+)?(?P<recipient>[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)?)\b"
)
_NAMED_PLACE = re.compile(
    r"\b(?:at|near|in|outside|inside|behind|opposite)\s+(?:the\s+)?"
    r"(?P<value>[A-Z][\w'’-]+(?:\s+(?:of\s+|on\s+)?[A-Z][\w'’-]+)+)"
)
_TITLED = re.compile(
    r"\b(?:Dr|Mr|Mrs|Ms|Mx|Prof|Professor|Aunt|Uncle|Nurse|Coach|Pastor|Father|Sister|"
    r"Herrn?|Frau|Monsieur|Madame|Mme|Mlle|Señora?|Sra?|Signora?|Sig|Dott)\.?\s+"
    rf"(?P<value>{_NAME_WORD}(?:\s+{_NAME_WORD})?)|\b(?P<saint>St\.?\s+[A-Z][a-z]+(?:['’]s)?(?:\s+[A-Z][a-z]+)*)"
)
_POSTCODE_CITY = re.compile(
    rf"(?<![\d,.$€£])(?!(?:19|20)\d\d\b)\b\d{{4,5}}\s+{_NAME_WORD}(?:[- ]{_NAME_WORD})?"
)
"""A European postcode and its town ("80331 München", "69003 Lyon"); not a year."""
_CAPITALIZED = re.compile(r"(?<![\w'’])[A-Z][a-z]+(?:[A-Z][a-z]+)*(?:['’]s)?\b")
_ENGLISH_SUFFIX = re.compile(
    r"(?:ing|ed|tion|sion|ment|ness|ity|ive|able|ible|ism|ist|ize|ise|ly)$"
)
_SENTENCE_END = re.compile(r"[.!?:;]\s*$|^\s*$|[\"“(]\s*$")
_ORG_SUFFIX = re.compile(r"\b(?:" + "|".join(ORG_SUFFIXES) + r")\b")


def _heading_at(line: str, position: int) -> bool:
    """Whether the sentence around ``position`` is a Title Case heading."""
    starts = [0] + [m.end() for m in re.finditer(r"[.!?:;]\s+|\s+-\s+", line)]
    start = max(s for s in starts if s <= position)
    following = [s for s in starts if s > position]
    return _title_case(line[start : following[0] if following else len(line)])


def _title_case(line: str) -> bool:
    """A heading in Title Case, where capitals say nothing about names."""
    if re.search(r"\b(?:I|I'm|my|me)\b", line):
        return False  # "I'm Lana Rivera from Austin." introduces someone
    words = re.findall(r"[A-Za-z][\w'-]*", line)
    long_words = [w for w in words if len(w) > 3]
    return len(long_words) >= 3 and sum(w[0].isupper() for w in long_words) / len(long_words) > 0.7


def _is_common(text: str) -> bool:
    """Every word of ``text`` is an everyday word (famous names are, in a 30k vocabulary)."""
    words = re.findall(r"[^\W\d_]+", text.casefold())
    vocabulary = common_words()
    return bool(words) and all(w in vocabulary for w in words if w != "s")


def rule_spans(line: str) -> list[Span]:
    """Spans found by patterns, as ``(start, end, type)``; they win over the recognizer."""
    spans: list[Span] = []

    def add(pattern: re.Pattern[str], kind: str, group: str | int = 0) -> None:
        for match in pattern.finditer(line):
            if match.start(group) < 0:
                continue
            if kind == "PHONE":
                if not 9 <= sum(ch.isdigit() for ch in match.group()) <= 15:
                    continue
                kind_found = "CONTACT"
            else:
                kind_found = kind
            spans.append((match.start(group), match.end(group), kind_found))

    add(_CREDENTIAL_VALUE, "CREDENTIAL", "value")
    add(_CREDENTIAL_FORMAT, "CREDENTIAL")
    add(PII_PATTERNS["email"], "CONTACT")
    add(_CONTACT, "CONTACT")
    add(_ID_KEYWORDED, "ID", "value")
    add(_ID_FORMAT, "ID")
    add(PII_PATTERNS["phone"], "PHONE")
    add(PII_PATTERNS["address"], "CONTACT")
    for match in _POSTCODE_CITY.finditer(line):
        if not re.search(rf"\s{_MONTH}$", match.group()):  # "2024 June" is a date
            spans.append((match.start(), match.end(), "PLACE"))
    add(_HEALTH_CONTEXT, "HEALTH", "value")
    add(_DOSE, "HEALTH")
    return spans


def amount_spans(line: str) -> list[Span]:
    """Amounts of money and dates: private in a sentence about someone only.

    "He owes me $640", "our wedding on 22 August"; not the figures of a company's
    report or the dates of a pasted schedule (measured on real requests,
    ``bench/privacy.py``: they were most of the public words redacted).
    """
    spans: list[Span] = [(m.start(), m.end(), "MONEY") for m in _MONEY_RULE.finditer(line)]
    if _MONEY_WORDS.search(line):  # "my base is 165k"; not a "5k run"
        spans += [(m.start(), m.end(), "MONEY") for m in _THOUSANDS.finditer(line)]
    spans += [(m.start(), m.end(), "DATE") for m in _DATE_RULE.finditer(line)]
    return spans


def health_spans(line: str) -> list[Span]:
    """Health terms, counted in a sentence about someone only (the caller checks)."""
    spans: list[Span] = []
    for pattern in (_HEALTH_LEXICON, _HEALTH_HEAD):
        spans += [(m.start(), m.end(), "HEALTH") for m in pattern.finditer(line)]
    for match in _HEALTH_SLOT.finditer(line):
        group = "value" if match.group("value") else "condition"
        spans.append((match.start(group), match.end(group), "HEALTH"))
    return spans


def name_spans(line: str, anchored: bool) -> list[Span]:
    """Names by cue ("my sister Lena", "Dr. Vesterhus") and rare capitalized words:
    what the recognizer misses, or all there is without it."""
    spans: list[Span] = []
    spans += [(m.start("value"), m.end("value"), "PERSON") for m in _NAME_CUE.finditer(line)]
    for match in _TITLED.finditer(line):
        if match.group("saint"):  # St. Luke's: a hospital, a church, a school
            spans.append((match.start("saint"), match.end("saint"), "ORG"))
        else:
            spans.append((match.start("value"), match.end("value"), "PERSON"))
    for match in _NAMED_PLACE.finditer(line):
        place = match.group("value")
        if not _heading_at(line, match.start()) and (anchored or not _is_common(place)):
            spans.append((match.start("value"), match.end("value"), "PLACE"))
    for match in _ADDRESSED.finditer(line):
        group = "value" if match.group("value") else "recipient"
        spans.append((match.start(group), match.end(group), "PERSON"))
    return spans


def rare_word_spans(line: str) -> list[Span]:
    """Rare capitalized words: names the recognizer and the cues miss (typed by guess)."""
    return [span for span in _rare_proper_nouns(line) if not _heading_at(line, span[0])]


def _rare_proper_nouns(line: str) -> list[Span]:
    """Capitalized words that are not everyday words and do not start a sentence."""
    spans: list[Span] = []
    for match in _CAPITALIZED.finditer(line):
        word = re.sub(r"['’]s$", "", match.group())
        if (
            _SENTENCE_END.search(line[: match.start()])
            or _is_common(word)
            or len(word) < 3
            or line[max(0, match.start() - 1) : match.start()] == "-"
            or (_ENGLISH_SUFFIX.search(word) and not any(ch.isupper() for ch in word[1:]))
        ):
            continue
        before = line[max(0, match.start() - 12) : match.start()]
        after = line[match.end() : match.end() + 30]
        if _ORG_SUFFIX.match(after.strip()):
            kind = "ORG"
        elif re.search(r"\b(?:in|from|near|at)\s+$", before):
            kind = "PLACE"
        else:
            kind = "PERSON"
        spans.append((match.start(), match.start() + len(word), kind))
    return spans


def keep_recognized(line: str, start: int, end: int, kind: str, anchored: bool) -> bool:
    """Whether a recognized entity is private in a writing request (see module doc)."""
    text = line[start:end]
    heading = _heading_at(line, start)
    if re.fullmatch(r"[A-Z]{1,2}", text) and _is_common(text):
        return False  # AI, UI, VR: acronyms of topics, not of someone
    if PLACEHOLDER.search(text) or not text.strip(" '’s") or text.strip("[]") != text:
        return False
    if kind == "DATE":
        vague = re.fullmatch(rf"(?:in\s+|the\s+)?(?:\d{{4}}|{_MONTH})", text.strip(), re.I)
        duration = re.fullmatch(r"(?:\w+\s+)?\d+\s+(?:years?|months?|weeks?|days?|hours?)", text)
        return bool(_SPECIFIC_DATE.search(text)) and not duration and (anchored or not vague)
    if heading and (
        (kind == "ORG" and not _ORG_SUFFIX.search(text))
        or start == 0
        or _is_common(text)
        or len(text.split()) * 2 >= len(line.split())
    ):
        return False  # "Your Monthly Dinner Party" in a Title Case heading
    if kind == "PLACE":
        return anchored or not _is_common(text)
    if kind == "ORG":
        return anchored or not _is_common(text)
    return True


def trim_span(line: str, start: int, end: int) -> tuple[int, int]:
    """Drop a leading article and a trailing possessive from a span; take in the
    capitalized words that finish a name ("St. Aidan's" + "Church")."""
    text = line[start:end]
    lead = re.match(r"(?:the|a|an)\s+", text, re.I)
    if lead:
        start += lead.end()
    rest = re.match(r"(?:\s+[A-Z][\w'’-]*){1,3}", line[end:])
    if rest and re.search(r"['’]s$", line[start:end]):
        return start, end + rest.end()
    if re.search(r"['’]s$", line[start:end]):
        end -= 2
    if re.search(r"(?:\w{5,}|\d)\.$", line[start:end]):  # a sentence's full stop, not "Aug."
        end -= 1
    return start, end
