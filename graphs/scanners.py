"""The privacy scanner of a request, built one way for every caller.

Four callers scan a request for the user's private context, and all build the scanner
with :func:`user_scanner`:

- a graph run's guard and fusion prefix gate (:func:`scanner_for`): the private part
  is private, the user's public words and the package's prompt text are exempt;
- the splitter of a one-part instruction (``nodes.prepare``): nothing is exempt but
  the paper's general part, for the stored-fact matcher only;
- the auto router's classifier (``auto.request_scanner``): the package's prompt text
  is exempt, the user's own words are not (whether they reference the store is what
  it asks);
- the agent middleware (``PrivacyMiddleware.scanner``): its own private texts, names
  and detectors, the values restored in the conversation, no stored-fact matcher.

What the detectors read of a user's documents (the leak index, the stored items'
embeddings) is kept by the store (:meth:`PrivateStore.derived`) until the user's
documents change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from langchain_core.documents import Document

from langchain_cogenesis import prompts
from langchain_cogenesis.graphs.state import Components, WritingState
from langchain_cogenesis.privacy.detection.detectors import PrivateIndex
from langchain_cogenesis.privacy.detection.paraphrase import (
    PARAPHRASE_THRESHOLD,
    StoredItemMatcher,
    StoredItems,
)
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.detection.spans import Detector
from langchain_cogenesis.retrievers import LocalEmbeddings, PrivateStore

TRUSTED_PROMPT_TEXT = prompts.TRUSTED_TEXT
"""The fixed text of the package's prompts: a hit inside it is not the user's."""
_NAME_LINE = re.compile(r"^Name:\s*(.+)$", re.MULTILINE)


def private_index(store: PrivateStore, user_id: str) -> PrivateIndex:
    """Leak-detector index of everything stored for ``user_id``, kept with the store
    until the user's documents change (:meth:`PrivateStore.derived`)."""
    return store.derived(user_id, "leak-index", _build_index)


def _build_index(documents: list[Document]) -> PrivateIndex:
    names = [
        match.group(1).strip()
        for document in documents
        if document.metadata.get("kind") == "profile"
        for match in _NAME_LINE.finditer(document.page_content)
    ]
    return PrivateIndex.build([d.page_content for d in documents], names=names)


def stored_item_matcher(
    store: PrivateStore,
    user_id: str,
    *,
    public_text: str = "",
    threshold: float | None = PARAPHRASE_THRESHOLD,
) -> StoredItemMatcher | None:
    """The detector of ``user_id``'s stored facts in other words (privacy/detection/paraphrase.py).

    ``None`` when ``threshold`` is ``None`` (``Components(stored_fact_threshold=None)``
    turns it off), when the store's embeddings do not run on this machine
    (only :class:`LocalEmbeddings` may see the clauses it checks) or hold no item. The
    item embeddings are computed once per user and kept with the store until the user's
    documents change.
    """
    embeddings = getattr(store, "embeddings", None)
    if threshold is None or not isinstance(embeddings, LocalEmbeddings):
        return None
    items = store.derived(
        user_id, "stored-items", lambda documents: StoredItems.from_documents(documents, embeddings)
    )
    if not len(items):
        return None
    return StoredItemMatcher(
        items,
        embeddings,
        threshold=threshold,
        public_text=public_text,
        trusted_texts=TRUSTED_PROMPT_TEXT,
    )


def user_scanner(
    store: PrivateStore | None,
    stored_user: str | None,
    *,
    private_texts: Iterable[str] = (),
    names: Iterable[str] = (),
    canaries: Iterable[str] = (),
    public_text: str = "",
    stored_fact_public_text: str | None = None,
    trusted_texts: Iterable[str] = (),
    detect_entities: bool = True,
    entity_detector: Detector | None = None,
    stored_fact_threshold: float | None = PARAPHRASE_THRESHOLD,
    extra: Iterable[Detector] = (),
) -> PrivacyScanner:
    """The detectors of one user's private context, for one request.

    Args:
        store, stored_user: the user whose stored documents are read (their leak
            index, and their facts in other words); ``stored_user`` is a user the
            caller found in ``store`` (``has_user``), or ``None`` to read nothing stored.
        private_texts, names, canaries: more private context of this request.
        public_text: the user's own public words: their n-grams, rare tokens and dates
            are not counted.
        stored_fact_public_text: the public text the stored-fact matcher exempts
            (default ``public_text``).
        trusted_texts: fixed prompt text; hits inside it are not counted
            (:data:`TRUSTED_PROMPT_TEXT` for the package's prompts).
        detect_entities, entity_detector: as for :class:`PrivacyScanner`.
        stored_fact_threshold: the stored-fact matcher's threshold
            (:func:`stored_item_matcher`); ``None`` leaves the matcher out.
        extra: more detectors, run after the others.
    """
    index: PrivateIndex | None = None
    matcher: StoredItemMatcher | None = None
    if store is not None and stored_user:
        index = private_index(store, stored_user)
        exempt = public_text if stored_fact_public_text is None else stored_fact_public_text
        matcher = stored_item_matcher(
            store, stored_user, public_text=exempt, threshold=stored_fact_threshold
        )
    scanner = PrivacyScanner(
        private_texts,
        index=index,
        names=names,
        canaries=canaries,
        public_text=public_text,
        trusted_texts=trusted_texts,
        detect_entities=detect_entities,
        entity_detector=entity_detector,
    )
    scanner.detectors.extend([*([matcher] if matcher is not None else []), *extra])
    return scanner


def run_scanner(
    parts: Components,
    user_id: str,
    *,
    private_texts: Iterable[str] = (),
    public_text: str = "",
    stored_fact_public_text: str | None = None,
    trusted_texts: Iterable[str] = (),
) -> PrivacyScanner:
    """:func:`user_scanner` for a graph run: the run's store (when it holds
    ``user_id``), canaries, entity detector and stored-fact threshold."""
    stored_user = user_id if parts.store.has_user(user_id) else None
    return user_scanner(
        parts.store,
        stored_user,
        private_texts=private_texts,
        canaries=parts.canaries,
        public_text=public_text,
        stored_fact_public_text=stored_fact_public_text,
        trusted_texts=trusted_texts,
        entity_detector=parts.entity_detector,
        stored_fact_threshold=parts.stored_fact_threshold,
    )


def scanner_for(state: WritingState, parts: Components) -> PrivacyScanner:
    """The leak scanner of a run's cloud payloads: the user's store, the private part,
    canaries; the user's own public words and the package's prompt text exempt."""
    # a public part the rules did not take from the user's words is not theirs to exempt
    public_text = state["public_instruction"] if state.get("public_from_user", True) else ""
    return run_scanner(
        parts,
        state["user_id"],
        private_texts=[state.get("private_instruction", "")],
        public_text=public_text,
        trusted_texts=TRUSTED_PROMPT_TEXT,
    )
