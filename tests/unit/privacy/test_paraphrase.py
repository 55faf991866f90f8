"""Store-held facts in other words: the matcher's logic with a word-counting embedding."""

from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_cogenesis.graphs import Components, run_sketch_graph, scanners
from langchain_cogenesis.graphs.auto import request_scanner
from langchain_cogenesis.privacy import EgressGuard, PrivacyScanner, decide
from langchain_cogenesis.privacy.detection.paraphrase import (
    MAX_ITEMS,
    StoredItemMatcher,
    StoredItems,
    clause_spans,
    item_texts,
)
from langchain_cogenesis.privacy.detection.spans import tokens
from langchain_cogenesis.retrievers import LocalEmbeddings
from tests.cloud_servers import RecordingServer
from tests.leak_harness import MemoryStore

_SAME = {"gaming": "game", "games": "game", "nights": "night", "evenings": "night"}
_SAME |= {"volunteers": "volunteer", "volunteering": "volunteer", "shelters": "shelter"}
_STOP = frozenset(
    {"a", "an", "the", "has", "have", "her", "his", "with", "for", "to", "of", "at", "on"}
)


def _vector(text: str) -> list[float]:
    """Words counted into 512 buckets (stop words out, a few forms made one)."""
    vector = [0.0] * 512
    for word, _, _ in tokens(text):
        if word not in _STOP:
            vector[zlib.crc32(_SAME.get(word, word).encode()) % 512] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class WordEmbeddings(Embeddings):
    """Cosine = shared words: a clause restates an item when it shares its words."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen += texts
        return [_vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class LocalWordEmbeddings(LocalEmbeddings):
    """The word-counting embedding, as a store's local embeddings (no model loaded)."""

    def __init__(self) -> None:
        super().__init__(model_path=Path("unused"))
        self.seen: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen += texts
        return [_vector(text) for text in texts]


HABITS = [
    Document("Name: Tess Aldana\nAge: 41\nOccupation: Ferry pilot", metadata={"kind": "profile"}),
    Document("Has weekly gaming nights with friends online", metadata={"kind": "private_detail"}),
    Document("Volunteers at the animal shelter on Saturdays", metadata={"kind": "activity_log"}),
    Document("Tomatoes taught me abundance.", metadata={"kind": "writing", "title": "T"}),
]
REQUEST = "Given her weekly game night, write a toast for her birthday."


class LocalStore(MemoryStore):
    """The in-memory store with local embeddings, as a ``PrivateStore`` has them."""

    def __init__(self, documents: dict[str, list[Document]]) -> None:
        super().__init__(documents)
        self.embeddings = LocalWordEmbeddings()
        self.reads = 0

    def documents(self, user_id: str) -> list[Document]:
        self.reads += 1
        return super().documents(user_id)


def matcher(**kwargs: Any) -> StoredItemMatcher:
    embeddings = WordEmbeddings()
    items = StoredItems.from_documents(HABITS, embeddings)
    return StoredItemMatcher(items, embeddings, **kwargs)


# --- clauses and items ------------------------------------------------------------------


def test_clauses_are_cut_at_sentences_punctuation_lines_and_while() -> None:
    text = "Given her game night; write a toast: short. Keep it warm while I cook\nThanks — T."
    assert [text[a:b] for a, b in clause_spans(text)] == [
        "Given her game night",
        "write a toast",
        "short",
        "Keep it warm",
        "I cook",
        "Thanks",
        "T",
    ]


def test_items_are_the_private_facts_not_the_writings_nor_name_and_style() -> None:
    profile = "Name: Tess\nAge: 41\nWriting style: Playful; short\nPersonal traits: Calm; Curious"
    documents = [
        Document(profile, metadata={"kind": "profile"}),
        Document("Swims at dawn; Bakes bread on Sundays", metadata={"kind": "private_detail"}),
        Document("Tomatoes taught me abundance.", metadata={"kind": "writing"}),
        Document("Swims at dawn", metadata={"kind": "activity_log"}),  # a repeat
    ]
    assert item_texts(documents) == [
        "Personal traits: Calm",
        "Personal traits: Curious",
        "Swims at dawn",
        "Bakes bread on Sundays",
    ]
    many = [Document(f"Fact number {i}", metadata={"kind": "note"}) for i in range(600)]
    assert len(item_texts(many)) == MAX_ITEMS


# --- the matcher ------------------------------------------------------------------------


def test_a_paraphrased_habit_is_found_and_only_the_words_that_tell_it() -> None:
    [hit] = matcher().find(REQUEST)
    assert hit.detector == "paraphrase"
    assert hit.text == "weekly game night"
    assert REQUEST[hit.start : hit.end] == hit.text


def test_unrelated_clauses_and_short_ones_are_not_hits() -> None:
    assert matcher().find("Write a toast for a retirement party. Cheers, friends!") == []


def test_a_short_clause_is_hidden_whole() -> None:
    found = matcher().find("Her gaming nights, then write a toast.")
    assert [hit.text for hit in found] == ["Her gaming nights"]


def test_the_threshold_decides() -> None:
    assert matcher(threshold=0.99).find(REQUEST) == []
    assert matcher(threshold=0.3).find(REQUEST)


def test_the_public_text_given_apart_and_trusted_text_are_neither_marked_nor_embedded() -> None:
    public = "Plan a weekly game night for her friends"
    trusted = "Example task: Has weekly gaming nights with friends online"
    found = matcher(public_text=public, trusted_texts=[trusted])
    seen = found.embeddings.seen  # type: ignore[attr-defined]
    seen.clear()
    assert found.find(f"{trusted}\n{public}") == []
    assert not any("gaming" in text or "game" in text for text in seen)


def test_each_clause_is_embedded_once_per_matcher() -> None:
    found = matcher()
    seen = found.embeddings.seen  # type: ignore[attr-defined]
    found.find(REQUEST)
    first = len(seen)
    found.find(REQUEST)
    assert len(seen) == first


def test_a_user_without_items_has_no_hits() -> None:
    embeddings = WordEmbeddings()
    empty = StoredItemMatcher(StoredItems.from_documents([], embeddings), embeddings)
    assert empty.find(REQUEST) == [] and embeddings.seen == []


def test_the_decision_redacts_the_fact_and_the_rescan_is_clean() -> None:
    scanner = PrivacyScanner(detect_entities=False)
    scanner.detectors.append(matcher())
    verdict = decide([("human", REQUEST)], scanner)
    assert verdict.decision == "redacted"
    sent = verdict.outbound[0][1]
    assert sent.startswith("Given her [PRIVATE_") and "write a toast for her birthday" in sent
    assert "weekly game night" in verdict.redactions.values()


# --- wiring: the scanner built for a stored user -------------------------------------------


def state(**kwargs: Any) -> Any:
    return {"user_id": "tess", "public_instruction": "Write a toast", **kwargs}


def parts(store: Any) -> Components:
    return Components(store=store, local_model=GenericFakeChatModel(messages=iter([])))


def test_the_scanner_of_a_stored_user_has_the_matcher_with_the_public_part_exempt() -> None:
    store = LocalStore({"tess": HABITS})
    scanner = scanners.scanner_for(state(), parts(store))
    [found] = [d for d in scanner.detectors if isinstance(d, StoredItemMatcher)]
    assert found.public_text == "Write a toast"
    assert found.trusted_texts == [t for t in scanners.TRUSTED_PROMPT_TEXT if t.strip()]
    assert any(
        isinstance(d, StoredItemMatcher) for d in request_scanner(state(), parts(store)).detectors
    )


def test_no_matcher_without_a_known_user_or_without_local_embeddings() -> None:
    store = LocalStore({"tess": HABITS})
    unknown = scanners.scanner_for(state(user_id="nobody"), parts(store))
    assert not any(isinstance(d, StoredItemMatcher) for d in unknown.detectors)
    assert store.reads == 0
    plain = MemoryStore({"tess": HABITS})  # no embeddings: nothing to compare with
    assert not any(
        isinstance(d, StoredItemMatcher)
        for d in scanners.scanner_for(state(), parts(plain)).detectors
    )
    remote = LocalStore({"tess": HABITS})
    remote.embeddings = WordEmbeddings()  # type: ignore[assignment]  # not on this machine
    assert scanners.stored_item_matcher(remote, "tess") is None  # type: ignore[arg-type]


def test_a_run_can_set_the_threshold_or_turn_the_matcher_off() -> None:
    store = LocalStore({"tess": HABITS})
    tuned = Components(store=store, stored_fact_threshold=0.9)  # type: ignore[arg-type]
    [found] = [
        d
        for d in scanners.scanner_for(state(), tuned).detectors
        if isinstance(d, StoredItemMatcher)
    ]
    assert found.threshold == 0.9
    off = Components(store=store, stored_fact_threshold=None)  # type: ignore[arg-type]
    assert not any(
        isinstance(d, StoredItemMatcher) for d in scanners.scanner_for(state(), off).detectors
    )


def test_item_embeddings_are_cached_per_user_and_dropped_on_change_and_erasure() -> None:
    store = LocalStore({"tess": list(HABITS)})
    seen = store.embeddings.seen
    scanners.stored_item_matcher(store, "tess")  # type: ignore[arg-type]
    embedded = len(seen)
    scanners.stored_item_matcher(store, "tess")  # type: ignore[arg-type]
    assert len(seen) == embedded  # cached
    store.stored["tess"].append(Document("Sings in a choir", metadata={"kind": "private_detail"}))
    matcher_now = scanners.stored_item_matcher(store, "tess")  # type: ignore[arg-type]
    assert matcher_now is not None and "Sings in a choir" in matcher_now.items.texts
    assert store.kept.kept("tess", "stored-items")
    store.forget("tess")  # as erasure does
    assert not store.kept.kept("tess", "stored-items")


def test_a_personal_first_request_keeps_the_habit_on_the_device() -> None:
    request = {"user_id": "tess", "instruction": REQUEST, "mode": "sketch"}
    wires = {}
    for name, threshold in (("matcher", 0.6), ("words only", None)):
        with RecordingServer(reply="1. Raise a glass") as server:
            components = Components(
                store=LocalStore({"tess": HABITS}),  # type: ignore[arg-type]
                local_model=GenericFakeChatModel(messages=iter([AIMessage("A toast.")] * 3)),
                egress_guard=EgressGuard(base_url=server.base_url, model="fake", max_retries=0),
                stored_fact_threshold=threshold,
            )
            result = run_sketch_graph(components, request)
            wires[name] = server.all_bytes().decode()
        assert result.answer == "A toast."
    assert "weekly game night" not in wires["matcher"]
    assert "write a toast for her birthday" in wires["matcher"]
    assert "weekly game night" in wires["words only"]  # the control: words alone miss it


def test_the_general_part_of_the_papers_format_is_public_as_if_given_apart() -> None:
    request = {"user_id": "tess", "instruction": "Plan a weekly game night: she hosts on Fridays"}
    with RecordingServer(reply="1. Games") as server:
        components = Components(
            store=LocalStore({"tess": HABITS}),  # type: ignore[arg-type]
            local_model=GenericFakeChatModel(messages=iter([AIMessage("A plan.")] * 3)),
            egress_guard=EgressGuard(base_url=server.base_url, model="fake", max_retries=0),
        )
        run_sketch_graph(components, request)
        wire = server.all_bytes().decode()
    assert "Plan a weekly game night" in wire and "Fridays" not in wire
