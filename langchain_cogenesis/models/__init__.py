"""The local small model, its chat templates, and the embedded stand-in for a cloud model."""

from langchain_cogenesis.models.loader import (
    bundled_model_path,
    default_model_path,
    load_model,
    smollm2_model_path,
)
from langchain_cogenesis.models.local import ChatLocalLlama
from langchain_cogenesis.models.standin import StandInCloud, cloud_endpoint
from langchain_cogenesis.models.templates import ChatTemplate, chat_template_for

__all__ = [
    "ChatLocalLlama",
    "ChatTemplate",
    "StandInCloud",
    "bundled_model_path",
    "chat_template_for",
    "cloud_endpoint",
    "default_model_path",
    "load_model",
    "smollm2_model_path",
]
