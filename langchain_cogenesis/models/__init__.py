"""The local small model, its chat templates, and the embedded stand-in for a cloud model."""

from langchain_cogenesis.models.loader import bundled_model_path, smollm2_model_path
from langchain_cogenesis.models.local import ChatLocalLlama
from langchain_cogenesis.models.standin import StandInCloud, cloud_endpoint

__all__ = [
    "ChatLocalLlama",
    "StandInCloud",
    "bundled_model_path",
    "cloud_endpoint",
    "smollm2_model_path",
]
