"""langchain-tests' standard unit suite for the chat models this package exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_cogenesis.fusion import ChatCoGenesisFusion
from langchain_cogenesis.graphs import ChatCoGenesis
from langchain_cogenesis.models import ChatLocalLlama


class TestChatCoGenesisFusionUnit(ChatModelUnitTests):
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
    def has_tool_calling(self) -> bool:
        return False  # a fused decode writes text; it does not call tools

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def supports_model_override(self) -> bool:
        return False  # the models are files chosen at construction

    @property
    def returns_usage_metadata(self) -> bool:
        return True


class TestChatLocalLlamaUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatLocalLlama]:
        return ChatLocalLlama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "gemma-3-270m", "seed": 1}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"COGENESIS_LOCAL_MODEL": "/models/my-model.gguf"},
            {"max_tokens": 8},
            {"model_path": Path("/models/my-model.gguf")},
        )

    @property
    def has_tool_calling(self) -> bool:
        return False  # a 270M base model has no tool-calling format

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def supports_model_override(self) -> bool:
        return False  # the model is a file chosen at construction


class TestChatCoGenesisUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatCoGenesis]:
        return ChatCoGenesis

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "cogenesis-sketch", "user_id": "maya-okafor"}

    @property
    def has_tool_calling(self) -> bool:
        return False  # the reply is written by the local model from a sketch

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def supports_model_override(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return False  # two models write one reply; see response_metadata instead
