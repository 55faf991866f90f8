"""Shared by the leak tests and bench/privacy.py (no pytest here: `make bench` runs without it).

An in-memory stand-in for the private store, and the components and requests that run
one generated leak case against a recording cloud.
"""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_cogenesis.caches import DerivedPerUser
from langchain_cogenesis.evaluation import LeakCase
from langchain_cogenesis.graphs import Components
from langchain_cogenesis.privacy import AuditLog, EgressGuard
from langchain_cogenesis.retrievers.loaders import user_context_documents
from tests.cloud_servers import RecordingServer
from tests.fusion_fakes import ScriptScorer, echo_script, leaking_script

MODES = ("sketch", "cloud-public", "local", "split", "fusion", "fusion-first-k", "fusion-draft")
FAULTS = ("ok", "ok", "error500", "garbage", "slow", "flaky", "ok")


class MemoryStore:
    """Stands in for PrivateStore: the methods the graph uses."""

    def __init__(self, documents: dict[str, list[Document]]) -> None:
        self.stored = documents
        self.queries: list[tuple[str, str, int]] = []
        self.location = f"memory-{id(self)}"
        self.kept = DerivedPerUser()

    def derived(self, user_id: str, name: str, build: Any) -> Any:
        return self.kept.get(
            user_id, name, self.count(user_id), lambda: build(self.documents(user_id))
        )

    def forget(self, user_id: str) -> None:
        self.kept.forget(user_id)

    def has_user(self, user_id: str) -> bool:
        return user_id in self.stored

    def count(self, user_id: str) -> int:
        return len(self.stored[user_id])

    def documents(self, user_id: str) -> list[Document]:
        return self.stored[user_id]

    def search(self, user_id: str, query: str, k: int = 4) -> list[Document]:
        self.queries.append((user_id, query, k))
        return self.stored[user_id][:k]


def mode_and_fault(number: int) -> tuple[str, str]:
    """Case ``number``'s mode and cloud fault; the shift makes every mode meet sloppy
    cases (every third) and every fault."""
    mode = MODES[(number + number // len(MODES)) % len(MODES)]
    return mode, FAULTS[number % len(FAULTS)]


def components_for(
    case: LeakCase, server: RecordingServer, audit: AuditLog | None, **kwargs: Any
) -> Components:
    """A fake local model, a guard to ``server``, and (for fusion) a local scorer that
    writes every secret into its answer."""
    slow = server.behaviour == "slow"
    guard = EgressGuard(
        base_url=server.base_url,
        model="fake",
        timeout=0.2 if slow else 10,
        max_retries=0 if slow else 1,
        audit_log=audit,
    )
    local_scorer = ScriptScorer(leaking_script(case.secrets))
    server.tokenizer = lambda text: local_scorer.tokenize(text, add_bos=True)
    if kwargs.get("fusion_draft"):
        server.logprobs_for = echo_script(local_scorer)
    kwargs.setdefault("local_scorer", local_scorer)
    return Components(
        store=MemoryStore({case.user.user_id: user_context_documents(case.user)}),  # type: ignore[arg-type]
        local_model=GenericFakeChatModel(messages=iter([AIMessage("A generic draft.")] * 4)),
        egress_guard=guard,
        k=5,
        canaries=(case.canary,),
        **kwargs,
    )


def request_for(case: LeakCase, mode: str) -> Any:
    """The graph input of ``case`` in ``mode`` (``split``: one instruction to split)."""
    if mode.startswith("fusion"):
        mode = "fusion"
    if mode == "split":
        text = f"{case.public_instruction}: {case.private_instruction}"
        return {"user_id": case.user.user_id, "instruction": text, "mode": "sketch"}
    return {
        "user_id": case.user.user_id,
        "public_instruction": case.public_instruction,
        "private_instruction": case.private_instruction,
        "mode": mode,
    }
