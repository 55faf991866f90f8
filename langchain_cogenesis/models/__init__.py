"""The local small model and the embedded stand-in for a cloud model."""

from langchain_cogenesis.models.local import ChatLocalLlama, bundled_model_path
from langchain_cogenesis.models.standin import StandInCloud, cloud_endpoint

__all__ = ["ChatLocalLlama", "StandInCloud", "bundled_model_path", "cloud_endpoint"]
