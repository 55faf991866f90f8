"""The private langchain-core names the tracing guarantee uses live in one module, and
a release without them fails loudly at import, not by scrubbing less."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import langchain_cogenesis
from langchain_cogenesis.privacy.tracing import _langchain_internals as internals

ROOT = Path(langchain_cogenesis.__file__).parent
THIRD_PARTY = ("langchain_core", "langchain", "langgraph", "langsmith")


def test_the_installed_langchain_core_has_every_internal() -> None:
    internals.check()
    assert len(internals.streaming_handler_types()) == 2
    assert isinstance(internals.configure_hook_handlers(), list)


def test_a_missing_internal_is_a_loud_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.tracers import context
    from langchain_core.tracers.langchain import LangChainTracer

    with monkeypatch.context() as patched:
        patched.delattr(context, "_configure_hooks")
        with pytest.raises(internals.IncompatibleLangChain, match="_configure_hooks"):
            internals.check()
    internals.check()
    monkeypatch.setattr(LangChainTracer, "_start_trace", None)
    with pytest.raises(internals.IncompatibleLangChain, match="_start_trace"):
        internals.check()


def test_no_other_module_imports_a_private_langchain_name() -> None:
    offenders = []
    for source in ROOT.rglob("*.py"):
        if source.name == "_langchain_internals.py":
            continue
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and module.split(".")[0] in THIRD_PARTY:
                private_module = any(part.startswith("_") for part in module.split("."))
                private_name = any(alias.name.startswith("_") for alias in node.names)
                if private_module or private_name:
                    offenders.append(f"{source.relative_to(ROOT)}: from {node.module}")
            if isinstance(node, ast.Attribute) and node.attr in (
                "_external_run_ids",
                "_configure_hooks",
            ):
                offenders.append(f"{source.relative_to(ROOT)}: .{node.attr}")
    assert not offenders, offenders
