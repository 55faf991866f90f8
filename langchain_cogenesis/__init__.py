"""langchain-cogenesis: a cloud LLM and a local SLM write together; private context stays local.

Implements CoGenesis (Zhang et al., 2024). The names an app composes are re-exported
here (one screen: ``__all__``); the typed errors are in :mod:`langchain_cogenesis.errors`,
the data types in :mod:`langchain_cogenesis.schema`, and each subpackage's own surface
in its ``__init__``.

The base install (``pip install langchain-cogenesis``) imports everything below and
runs the sketch path with a caller-supplied local chat model, cloud endpoint and store.
``ChatCoGenesisFusion`` is loaded on first use: it needs the ``fusion`` extra, and
without it the import raises :class:`MissingExtra` naming the extra to install.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import CoGenesisError, PrivacyViolation
from langchain_cogenesis.models import ChatLocalLlama
from langchain_cogenesis.privacy import EgressGuard, with_private_tracing
from langchain_cogenesis.schema import WritingResult

if TYPE_CHECKING:
    from langchain_cogenesis.fusion import ChatCoGenesisFusion
    from langchain_cogenesis.graphs import (
        ChatCoGenesis,
        Components,
        PrivacyMiddleware,
        build_sketch_graph,
        cogenesis_tool,
    )
    from langchain_cogenesis.retrievers import PrivateContextRetriever, PrivateStore

try:
    # one source of truth: the version in the installed package's metadata
    __version__ = version("langchain-cogenesis")
except PackageNotFoundError:  # pragma: no cover - run from a source tree never installed
    __version__ = "0.0.0"

# public names imported on first use (PEP 562): the fusion module needs an extra, and
# the graphs and retrievers import this package's modules (no import circle this way)
_LAZY = {
    "ChatCoGenesisFusion": "langchain_cogenesis.fusion",
    "ChatCoGenesis": "langchain_cogenesis.graphs",
    "Components": "langchain_cogenesis.graphs",
    "PrivacyMiddleware": "langchain_cogenesis.graphs",
    "build_sketch_graph": "langchain_cogenesis.graphs",
    "cogenesis_tool": "langchain_cogenesis.graphs",
    "PrivateContextRetriever": "langchain_cogenesis.retrievers",
    "PrivateStore": "langchain_cogenesis.retrievers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ChatCoGenesis",
    "ChatCoGenesisFusion",
    "ChatLocalLlama",
    "CoGenesisError",
    "Components",
    "EgressGuard",
    "PrivacyMiddleware",
    "PrivacyViolation",
    "PrivateContextRetriever",
    "PrivateStore",
    "Settings",
    "WritingResult",
    "__version__",
    "build_sketch_graph",
    "cogenesis_tool",
    "with_private_tracing",
]
