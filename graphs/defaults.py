"""Default components: what a run that passes none (LangGraph Server) runs with.

Built from the environment (``COGENESIS_HOME``, ``COGENESIS_CHROMA_URL``,
``COGENESIS_CLOUD_BASE_URL``) once per environment and reused for
:data:`DEFAULTS_MAX_AGE` seconds; a context that names its own parts uses those.
"""

from __future__ import annotations

from dataclasses import replace

from langgraph.runtime import Runtime

from langchain_cogenesis.caches import BoundedCache
from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import CloudUnavailable
from langchain_cogenesis.graphs.state import Components
from langchain_cogenesis.retrievers import PrivateStore

DEFAULTS_MAX_AGE = 3600.0
"""Seconds default components are reused before they are built again."""
# per environment (data folder, Chroma URL, cloud URL): a few, each rebuilt hourly
_default_parts: BoundedCache[tuple[str, str, str], Components] = BoundedCache(
    max_size=4, max_age=DEFAULTS_MAX_AGE
)
_default_stores: BoundedCache[tuple[str, str], PrivateStore] = BoundedCache(
    max_size=4, max_age=DEFAULTS_MAX_AGE
)


def default_components() -> Components:
    """Components built from the environment, for runs that pass none (LangGraph Server).

    Built once per environment (data folder, Chroma URL, cloud URL) and reused.
    """
    settings = Settings.from_env()
    key = (str(settings.home), settings.chroma_url or "", settings.cloud_base_url or "")
    return _default_parts.get_or_create(key, _build_defaults)


def default_store() -> PrivateStore:
    """The store the environment names (``COGENESIS_HOME``, ``COGENESIS_CHROMA_URL``),
    opened once and shared by every caller that passes none."""
    settings = Settings.from_env()
    key = (str(settings.home), settings.chroma_url or "")
    return _default_stores.get_or_create(key, PrivateStore)


def _build_defaults() -> Components:
    from langchain_cogenesis.models import ChatLocalLlama
    from langchain_cogenesis.privacy import EgressGuard

    try:
        guard: EgressGuard | None = EgressGuard()
    except CloudUnavailable:
        guard = None
    return Components(store=default_store(), local_model=ChatLocalLlama(), egress_guard=guard)


def components(runtime: Runtime[Components] | None) -> Components:
    """The run's components; a context built from nothing takes the defaults."""
    parts = runtime.context if runtime is not None else None
    if parts is None or (parts.store is None and parts.local_model is None):
        defaults = default_components()
        if parts is None:
            return defaults
        return replace(
            parts,
            store=defaults.store,
            local_model=defaults.local_model,
            egress_guard=parts.egress_guard or defaults.egress_guard,
        )
    return parts
