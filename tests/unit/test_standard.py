"""langchain-tests' standard unit suite for the chat models this package exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_cogenesis.fusion import ChatCoGenesisFusion
from langchain_cogenesis.graphs import ChatCoGenesis
from langchain_cogenesis.models import ChatLocalLlama
from tests.text_only import TextOnly


class TestChatCoGenesisFusionUnit(TextOnly, ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatCoGenesisFusion]:
        return ChatCoGenesisFusion

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "cogenesis-fusion", "combiner": "max", "first_k": 32}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"COGENESIS_CLOUD_API_KEY": "key-from-env"},
            {"model": "cogenesis-fusion"},
            {"api_key": "key-from-env"},
        )

    @property
    def returns_usage_metadata(self) -> bool:
        return True


class TestChatLocalLlamaUnit(TextOnly, ChatModelUnitTests):
    @property
    def has_structured_output(self) -> bool:
        return True  # a JSON-schema grammar on the local model

    @property
    def chat_model_class(self) -> type[ChatLocalLlama]:
        return ChatLocalLlama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "gemma-3-270m", "seed": 1}

    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        # an in-process model has no endpoint: no api_key, timeout or retries, and
        # ChatLocalLlama refuses arguments it would ignore
        params = super().standard_chat_model_params
        for name in ("api_key", "timeout", "max_retries"):
            params.pop(name, None)
        return params

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"COGENESIS_LOCAL_MODEL": "/models/my-model.gguf"},
            {"max_tokens": 8},
            {"model_path": Path("/models/my-model.gguf")},
        )


class TestChatCoGenesisUnit(TextOnly, ChatModelUnitTests):
    @property
    def has_structured_output(self) -> bool:
        return True  # a JSON-schema grammar on the local model

    @property
    def chat_model_class(self) -> type[ChatCoGenesis]:
        return ChatCoGenesis

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "gpt-4o-mini", "user_id": "maya-okafor"}

    @property
    def returns_usage_metadata(self) -> bool:
        return False  # two models write one reply; see response_metadata instead
