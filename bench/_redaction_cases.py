"""The requests of the redaction bench, their labels and the scanners that judge them.

Shared by ``bench/redaction.py`` and its tests (not a benchmark: ``run_all.py`` skips
names with ``_``). The labels are described in ``bench/redaction.py``'s docs.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.evaluation.pii_cases import PUBLIC_REQUESTS
from langchain_cogenesis.graphs.scanners import (
    TRUSTED_PROMPT_TEXT,
    private_index,
    stored_item_matcher,
)
from langchain_cogenesis.privacy import PrivacyScanner, decide
from langchain_cogenesis.privacy.detection.detectors import (
    Hit,
    is_rare,
    merge_spans,
    normalize,
    tokens,
)
from langchain_cogenesis.privacy.detection.detectors import rare_tokens as store_rare_tokens
from langchain_cogenesis.privacy.detection.paraphrase import StoredItemMatcher, clause_spans
from langchain_cogenesis.privacy.detection.splitter import general_part, split_request
from langchain_cogenesis.retrievers import LocalEmbeddings
from langchain_cogenesis.retrievers.loaders import user_context_documents
from tests.leak_harness import MemoryStore

TWO_PART = "private given apart"
PHRASINGS = (TWO_PART, "general: personal", "personal part first")

_WORD = re.compile(r"[^\W_]+(?:[-'.@/][^\W_]+)*")
_STOP = frozenset(
    {
        "a", "an", "the", "and", "or", "nor", "of", "to", "in", "on", "at", "for", "with", "by",
        "from", "into", "onto", "about", "as", "than", "then", "so", "that", "this", "these",
        "those", "it", "its", "is", "are", "was", "were", "be", "been", "being", "has", "have",
        "had", "do", "does", "did", "will", "would", "can", "could", "should", "may", "might",
        "must", "i", "me", "my", "mine", "we", "us", "our", "you", "your", "yours", "he", "him",
        "his", "she", "her", "hers", "they", "them", "their", "theirs", "who", "whom", "whose",
        "which", "what", "when", "where", "how", "why", "not", "no", "all", "any", "each", "every",
        "some", "such", "more", "most", "very", "just", "also", "up", "out", "over", "under",
        "after", "before", "while", "during", "through", "own", "other", "new", "recent",
        "recently",
    }
)  # fmt: skip
_INSTRUCTION = frozenset(
    {
        "write", "create", "develop", "compose", "draft", "prepare", "craft", "generate", "design",
        "outline", "produce", "make", "give", "provide", "guide", "post", "blog", "article",
        "script", "plan", "letter", "speech", "essay", "series", "piece", "review", "email",
        "note", "list", "detailed", "short", "brief", "include", "including", "use", "using",
        "based", "drawing", "given", "considering", "reflect", "reflecting", "discuss", "describe",
        "share", "highlight", "highlights", "highlighting", "personal", "experience",
        "experiences", "insights", "tips", "ideas", "focus", "focusing",
    }
)  # fmt: skip


class EmbeddingStore(MemoryStore):
    """The in-memory store with the local embeddings a ``PrivateStore`` runs."""

    embeddings = LocalEmbeddings()


def documents_of(user: DatasetUser) -> list[Any]:
    """The user's documents as ``PrivateStore.add_user_context`` stores them."""
    return user_context_documents(user.context)


def phrase(user: DatasetUser, phrasing: str) -> tuple[str, tuple[int, int]]:
    """The request (for ``private given apart``: both parts, one after the other) and
    where its general part is in it."""
    task = user.tasks[0].instruction
    general, personal = task.public_instruction.strip(), task.private_instruction.strip()
    if phrasing == TWO_PART:  # a line apart: the general part's last clause ends there
        return f"{general}\n{personal}", (0, len(general))
    if phrasing == "general: personal":
        return f"{general}: {personal}", (0, len(general))
    head = personal.rstrip(" .") + ", "
    general = general.rstrip(" .?!")
    return f"{head}{general[:1].lower()}{general[1:]}.", (len(head), len(head) + len(general))


def private_units(text: str, general: tuple[int, int], user: DatasetUser) -> list[tuple[int, int]]:
    """The labelled private spans of ``text`` (see the module docs)."""
    context = user.context
    stored = [d.page_content for d in user_context_documents(context)]
    held = set().union(*(store_rare_tokens(t) for t in stored))
    spans: list[Hit] = []
    names = [context.profile.name, *context.profile.name.split()]
    for name in (n for n in names if len(n.strip(".")) >= 3):  # not "Dr."
        spans += [
            Hit(m.start(), m.end(), "name", "")
            for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text, re.IGNORECASE)
        ]
    for match in _WORD.finditer(text):
        word = normalize(match.group())
        if is_rare(word, match.group()) and word in held:
            spans.append(Hit(match.start(), match.end(), "rare", ""))
    details = [*context.private_details, *context.activity_logs]
    grams = set().union(*(_grams([w for w, _, _ in tokens(d)], 4) for d in details))
    words = tokens(text)
    for i in range(len(words) - 3):
        if tuple(w for w, _, _ in words[i : i + 4]) in grams:
            spans.append(Hit(words[i][1], words[i + 3][2], "gram", ""))
    # the data marks the general part public: what the user put there is not counted
    return [(a, b) for a, b in merge_spans(spans) if not (general[0] <= a and b <= general[1])]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "er", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> set[str]:
    """The content words of ``text``, crudely stemmed (the store-held facts' label)."""
    return {
        _stem(word)
        for word, _, _ in tokens(text)
        if len(word) > 2 and word.isalpha() and word not in _STOP and word not in _INSTRUCTION
    }


def shared_stems(clause: str, user: DatasetUser) -> set[str]:
    """The content words ``clause`` shares with the private detail or activity log it
    shares most with, leaving out those of the general part (public by the data, so
    sent anyway); two or more: the clause restates that item (the label)."""
    general = content_stems(user.tasks[0].instruction.public_instruction)
    stems = content_stems(clause) - general
    items = (*user.context.private_details, *user.context.activity_logs)
    return max((stems & content_stems(item) for item in items), key=len, default=set())


def store_held_units(
    text: str, general: tuple[int, int], user: DatasetUser
) -> list[tuple[int, int, frozenset[int]]]:
    """The clauses of the personal part that restate a private detail or activity log,
    each with the token positions (in ``tokens(text)``) of the words they share."""
    words = tokens(text)
    units = []
    for start, end in clause_spans(text):
        if general[0] <= start and end <= general[1]:
            continue
        shared = shared_stems(text[start:end], user)
        if len(shared) >= 2:
            positions = frozenset(
                i
                for i, (word, a, b) in enumerate(words)
                if start <= a and b <= end and _stem(word) in shared
            )
            units.append((start, end, positions))
    return units


def _grams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def kept_positions(text: str, outbound: str) -> set[int]:
    """Token positions of ``text`` whose word reached ``outbound`` where it stood
    (the two aligned word by word: a redacted public part keeps the request's order)."""
    sent = [w for w, _, _ in tokens(outbound)]
    matcher = difflib.SequenceMatcher(None, [w for w, _, _ in tokens(text)], sent, autojunk=False)
    return {block.a + i for block in matcher.get_matching_blocks() for i in range(block.size)}


def score(
    text: str,
    general: tuple[int, int],
    units: list[tuple[int, int]],
    outbound: str,
    held: Sequence[tuple[int, int, frozenset[int]]] = (),
) -> dict[str, int]:
    """Counts of public words kept and units leaked for one request."""
    sent = Counter(w for w, _, _ in tokens(outbound))
    sent_sequence = [w for w, _, _ in tokens(outbound)]
    private = [*units, *((a, b) for a, b, _ in held)]
    counts = Counter[str]()
    for word, start, end in tokens(text):
        if any(a <= start and end <= b for a, b in private):
            continue
        part = "general" if general[0] <= start and end <= general[1] else "personal"
        counts[f"{part}_words"] += 1
        if sent[word] > 0:
            sent[word] -= 1
            counts[f"{part}_kept"] += 1
    leaked = [
        (a, b) for a, b in units if _contains(sent_sequence, [w for w, _, _ in tokens(text[a:b])])
    ]
    counts["units"] = len(units)
    counts["leaked"] = len(leaked)
    kept = kept_positions(text, outbound) if held else set()
    counts["held"] = len(held)
    # a fact leaks when two of its shared words, and half of them, reach the cloud
    counts["held_leaked"] = sum(
        len(positions & kept) >= max(2, len(positions) / 2) for _, _, positions in held
    )
    return counts


def outbound_of(public: str, scanner: PrivacyScanner) -> str:
    """What the egress guard sends of ``public`` (nothing when it refuses)."""
    verdict = decide([("human", public)], scanner)
    return verdict.outbound[0][1] if verdict.sendable else ""


def scanner_of(store: MemoryStore, user: DatasetUser, phrasing: str) -> PrivacyScanner:
    """The scanner the graph builds for this user: for a one-part request the
    splitter's (``graphs.nodes._split``), for two parts the guard's (``scanner_for``)."""
    user_id = user.context.user_id
    task = user.tasks[0].instruction
    two_part = phrasing == TWO_PART
    public = task.public_instruction.strip() if two_part else ""
    scanner = PrivacyScanner(
        [task.private_instruction] if two_part else [],
        index=private_index(store, user_id),  # type: ignore[arg-type]
        public_text=public,
        trusted_texts=TRUSTED_PROMPT_TEXT if two_part else (),
    )
    # the splitter's matcher takes the paper's general part as given apart, as _split does
    general = public if two_part else general_part(phrase(user, phrasing)[0])
    matcher = stored_item_matcher(store, user_id, public_text=general)  # type: ignore[arg-type]
    if matcher is not None:
        scanner.detectors.append(matcher)
    return scanner


def redact_request(text: str, scanner: PrivacyScanner) -> str:
    return split_request(text, scanner).instruction.public_instruction


def figure_row(
    totals: Counter[str], requests: int, leaking: int, leaking_held: int
) -> dict[str, Any]:
    words = totals["general_words"] + totals["personal_words"]
    kept = totals["general_kept"] + totals["personal_kept"]
    return {
        "requests": requests,
        "public_words": words,
        "public_words_kept": kept / max(words, 1),
        "general_words_kept": totals["general_kept"] / max(totals["general_words"], 1),
        "personal_words_sent": totals["personal_kept"] / max(totals["personal_words"], 1),
        "private_units": totals["units"],
        "private_units_leaked": totals["leaked"],
        "requests_leaking": leaking,
        "store_held": totals["held"],
        "store_held_leaked": totals["held_leaked"],
        "requests_leaking_store_held": leaking_held,
    }


def figure_line(row: dict[str, Any]) -> str:
    return (
        f"{row['public_words_kept']:6.1%}  general {row['general_words_kept']:6.1%}  "
        f"personal {row['personal_words_sent']:6.1%}  "
        f"units {row['private_units_leaked']}/{row['private_units']} "
        f"({row['requests_leaking']} req.)  "
        f"store-held {row['store_held_leaked']}/{row['store_held']} "
        f"({row['requests_leaking_store_held']} req.)"
    )


# --- the matcher's threshold sweep (``bench/redaction.py --sweep``) --------------------

SWEEP = (0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75)


def marked_rate(values: list[float], threshold: float) -> float:
    return sum(value >= threshold for value in values) / max(len(values), 1)


def clause_sweep(users: list[DatasetUser], thresholds: Sequence[float]) -> dict[str, Any]:
    """Per threshold, the share of clauses the matcher marks, scored against the
    stored items of the user named: positives are the store-held clauses of the
    user's own personal part (all its clauses, for reference); negatives the clauses
    of the user's own general part, of the next user's personal part, and generic
    public instructions (the other users' general parts and ``PUBLIC_REQUESTS``)."""
    import numpy as np

    def clauses_of(text: str) -> list[str]:
        return [text[a:b] for a, b in clause_spans(text)]

    embeddings = EmbeddingStore.embeddings
    tasks = [user.tasks[0].instruction for user in users]
    generic = {i: clauses_of(t.public_instruction) for i, t in enumerate(tasks)}
    requests = [c for text in PUBLIC_REQUESTS for c in clauses_of(text)]
    every = {c for cs in generic.values() for c in cs} | set(requests)
    every |= {c for t in tasks for c in clauses_of(t.private_instruction)}
    texts = sorted(every)
    vectors = dict(zip(texts, np.asarray(embeddings.embed_documents(texts)), strict=True))
    groups: dict[str, list[float]] = {
        "store_held": [], "personal": [], "own_general": [], "other_personal": [], "generic": []
    }  # fmt: skip
    for i, user in enumerate(users):
        store = EmbeddingStore({user.context.user_id: documents_of(user)})
        matcher = stored_item_matcher(store, user.context.user_id)  # type: ignore[arg-type]
        if matcher is None:
            continue

        def best(clauses: list[str], items: Any = matcher.items.vectors) -> list[float]:
            if not clauses:
                return []
            return [float(v) for v in (np.stack([vectors[c] for c in clauses]) @ items.T).max(1)]

        personal = clauses_of(tasks[i].private_instruction)
        groups["personal"] += best(personal)
        groups["store_held"] += best([c for c in personal if len(shared_stems(c, user)) >= 2])
        groups["own_general"] += best(generic[i])
        groups["other_personal"] += best(
            clauses_of(tasks[(i + 1) % len(tasks)].private_instruction)
        )
        others = [c for j, cs in generic.items() if j != i for c in cs]
        groups["generic"] += best([*others, *requests])
    return {
        "clauses": {name: len(values) for name, values in groups.items()},
        "marked": {
            f"{t:.2f}": {name: marked_rate(values, t) for name, values in groups.items()}
            for t in thresholds
        },
    }


def request_sweep(users: list[DatasetUser], thresholds: Sequence[float]) -> dict[str, Any]:
    """The ``redact`` rows of the one-part phrasings for each matcher threshold."""
    totals = {(p, t): Counter[str]() for p in PHRASINGS[1:] for t in thresholds}
    leaking_held = dict.fromkeys(totals, 0)
    for user in users:
        store = EmbeddingStore({user.context.user_id: documents_of(user)})
        for phrasing in PHRASINGS[1:]:
            scanner = scanner_of(store, user, phrasing)
            matcher = next(d for d in scanner.detectors if isinstance(d, StoredItemMatcher))
            text, general = phrase(user, phrasing)
            units, held = private_units(text, general, user), store_held_units(text, general, user)
            for threshold in thresholds:
                matcher.threshold = threshold  # one matcher: each clause is embedded once
                outbound = outbound_of(redact_request(text, scanner), scanner)
                counts = score(text, general, units, outbound, held)
                totals[phrasing, threshold] += counts
                leaking_held[phrasing, threshold] += bool(counts["held_leaked"])
    return {
        phrasing: {
            f"{t:.2f}": figure_row(totals[phrasing, t], len(users), 0, leaking_held[phrasing, t])
            for t in thresholds
        }
        for phrasing in PHRASINGS[1:]
    }


def print_sweep(sweep: dict[str, Any]) -> None:
    names = list(sweep["clauses"])
    print(
        "  clauses marked by threshold: " + ", ".join(f"{n} ({sweep['clauses'][n]})" for n in names)
    )
    for threshold, rates in sweep["marked"].items():
        print(f"    {threshold}  " + "  ".join(f"{rates[n]:6.1%}" for n in names))
    for phrasing, rows in sweep["requests"].items():
        print(f"  redact, {phrasing}, by threshold:")
        for threshold, row in rows.items():
            print(f"    {threshold}  {figure_line(row)}")
