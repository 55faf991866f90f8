"""The privacy boundary: the one door to the cloud."""

from langchain_cogenesis.privacy.guard import EgressGuard, find_private_overlap

__all__ = ["EgressGuard", "find_private_overlap"]
