"""langchain-tests' standard integration suite against the real models.

Gemma 3 270M plays both roles in this process (the cloud side reads only the public
messages); the features a fused text decoder does not have are declared off. The local
model answers structured output under a JSON-schema grammar, so those standard cases
run for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import (
    ChatModelIntegrationTests,
    RetrieversIntegrationTests,
)

from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.fusion import ChatCoGenesisFusion
from langchain_cogenesis.graphs import ChatCoGenesis
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud, bundled_model_path
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.retrievers import PrivateContextRetriever, PrivateStore
from tests.text_only import StructuredByGrammar, TextOnly

pytestmark = pytest.mark.integration


class TestChatCoGenesisFusionIntegration(TextOnly, ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatCoGenesisFusion]:
        return ChatCoGenesisFusion

    @property
    def chat_model_params(self) -> dict[str, Any]:
        path: Path = bundled_model_path()
        return {
            "model": "cogenesis-fusion",
            "cloud_model_path": path,
            "max_tokens": 24,
            "n_ctx": 1024,
            "draft": 4,
            "private_context": ["Maya Okafor runs the Linden Street Community Garden."],
        }

    @property
    def returns_usage_metadata(self) -> bool:
        return True


class TestChatLocalLlamaIntegration(StructuredByGrammar, ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatLocalLlama]:
        return ChatLocalLlama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # room for a whole JSON answer (structured output): a grammar bounds the shape,
        # not the length of a string
        return {"model": "gemma-3-270m", "max_tokens": 64, "seed": 3, "n_ctx": 1024}


@pytest.fixture(scope="module")
def maya_store(tmp_path_factory: pytest.TempPathFactory) -> PrivateStore:
    store = PrivateStore(tmp_path_factory.mktemp("standard") / "store")
    store.add_user_context(load_demo_users()[0].context)
    return store


class TestPrivateContextRetriever(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _store(self, maya_store: PrivateStore) -> None:
        self.store = maya_store

    @property
    def retriever_constructor(self) -> type[PrivateContextRetriever]:
        return PrivateContextRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"store": self.store, "user_id": "maya-okafor"}

    @property
    def retriever_query_example(self) -> str:
        return "a speech for the harvest festival"


@pytest.fixture(scope="module")
def standin_guard(model_path: Path) -> Iterator[EgressGuard]:
    with StandInCloud(model_path, n_ctx=2048) as cloud:
        yield EgressGuard(
            base_url=cloud.base_url, model=cloud.model, send_max_tokens=True, audit_log=None
        )


# ChatCoGenesis answers structured output too (tests/integration/models/test_structured_output.py),
# but its standard cases stay off: Gemma 3 270M, reading the writer's long prompt, does
# not reliably close a two-field JSON within a token budget the rest of the suite can
# afford (one run's reply was cut after 117 characters at 128 tokens), and the cases
# count callbacks of runs that nest under ChatCoGenesis's own.
class TestChatCoGenesisIntegration(TextOnly, ChatModelIntegrationTests):
    @pytest.fixture(autouse=True)
    def _parts(self, maya_store: PrivateStore, standin_guard: EgressGuard) -> None:
        self.store, self.guard = maya_store, standin_guard

    @property
    def chat_model_class(self) -> type[ChatCoGenesis]:
        return ChatCoGenesis

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "egress_guard": self.guard,  # names the cloud (so no model= here)
            "local_model": ChatLocalLlama(max_tokens=24, seed=2, n_ctx=2048),
            "user_id": "maya-okafor",
            "max_tokens": 24,
            "sketch_max_tokens": 24,
        }

    @property
    def returns_usage_metadata(self) -> bool:
        return False
