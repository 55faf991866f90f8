"""langchain-tests' standard integration suite against the real models.

Gemma 3 270M plays both roles in this process (the cloud side reads only the public
messages); the features a fused text decoder does not have are declared off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_cogenesis.fusion import ChatCoGenesisFusion
from langchain_cogenesis.models import bundled_model_path

pytestmark = pytest.mark.integration


class TestChatCoGenesisFusionIntegration(ChatModelIntegrationTests):
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
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def supports_model_override(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return False
