"""The scrubbing tracer and callback wrappers of private entry points.

:class:`ScrubbingTracer` stands in for LangChain's ``LangChainTracer``: it holds its
runs until the entry point's own run ends, then hands them to the LangSmith client
scrubbed (:mod:`~langchain_cogenesis.privacy.tracing.trace_view`). :class:`ScrubbingHandler`
and :class:`AsyncScrubbingHandler` wrap any other handler, which then gets the same
scrubbed view as each event happens. :mod:`~langchain_cogenesis.privacy.tracing.private`
decides which handler gets which.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.tracers.langchain import LangChainTracer
from langchain_core.tracers.schemas import Run
from langsmith import Client

from langchain_cogenesis.privacy.egress.decision import PublicRecord, recording
from langchain_cogenesis.privacy.tracing._langchain_internals import external_run_ids
from langchain_cogenesis.privacy.tracing.trace_view import (
    error_text,
    is_error_text,
    plain,
    scrub,
    scrub_error,
    scrub_events,
    scrub_serialized,
)

_log = logging.getLogger(__name__)


# --- the LangSmith tracer ---------------------------------------------------------


class _PendingTrace:
    """Runs of one private entry point, held until its own run ends, then scrubbed
    and handed to the real client(s)."""

    def __init__(self, record: PublicRecord | None = None) -> None:
        self.public = record or PublicRecord()
        self._lock = threading.Lock()
        self._calls: list[tuple[Any, str, dict[str, Any]]] = []
        self._root: UUID | None = None
        self._shipped = False

    def started(self, run_id: UUID) -> None:
        with self._lock:
            if self._root is None:
                self._root = run_id

    def ended(self, run_id: UUID) -> None:
        if run_id == self._root:
            self.ship()

    def record(self, client: Any, method: str, kwargs: dict[str, Any]) -> None:
        snapshot = {k: plain(v) if k in _RUN_DATA else v for k, v in kwargs.items()}
        with self._lock:
            self._calls.append((client, method, snapshot))
            late = self._shipped
        if late:  # a run that ends after the entry point's own run
            self.ship()

    def ship(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
            self._shipped = True
        for client, method, kwargs in calls:
            try:
                with recording(self.public):  # the public texts of this entry point's run
                    shown = _scrubbed_run(kwargs)
                getattr(client, method)(**shown)
            except Exception as error:
                _log.warning("a scrubbed trace could not be handed over: %r", error)


_RUN_DATA = frozenset({"inputs", "outputs", "error", "events", "extra", "serialized"})


def _scrubbed_run(kwargs: dict[str, Any]) -> dict[str, Any]:
    shown = dict(kwargs)
    for key in ("inputs", "outputs"):
        if shown.get(key) is not None:
            shown[key] = scrub(shown[key])
    error = shown.get("error")
    if isinstance(error, str) and not is_error_text(error):
        shown["error"] = scrub(error)
    if shown.get("events") is not None:
        shown["events"] = scrub_events(shown["events"])
    if shown.get("serialized") is not None:
        shown["serialized"] = scrub_serialized(shown["serialized"])
    extra = shown.get("extra")
    if isinstance(extra, dict):
        # the runtime block is the library and platform versions, made by LangChain
        shown["extra"] = {
            **scrub({k: v for k, v in extra.items() if k != "runtime"}),
            **({"runtime": extra["runtime"]} if "runtime" in extra else {}),
        }
    if shown.get("attachments"):
        shown["attachments"] = {}  # files cannot be scrubbed
    return shown


class ScrubbingClient:
    """A LangSmith client whose runs wait in a :class:`_PendingTrace`; everything else
    (``flush``, ``info``...) is the wrapped client's."""

    def __init__(
        self,
        client: Any,
        pending: _PendingTrace | None = None,
        record: PublicRecord | None = None,
    ) -> None:
        self.wrapped = client
        self.pending = pending or _PendingTrace(record)

    def create_run(self, *args: Any, **kwargs: Any) -> None:
        """Hold a new run (``RunTree.post``)."""
        named = dict(zip(("name", "inputs", "run_type"), args, strict=False))
        self.pending.record(self.wrapped, "create_run", {**named, **kwargs})

    def update_run(self, *args: Any, **kwargs: Any) -> None:
        """Hold a run's update (``RunTree.patch``)."""
        named = dict(zip(("run_id",), args, strict=False))
        self.pending.record(self.wrapped, "update_run", {**named, **kwargs})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


class ScrubbingTracer(LangChainTracer):
    """``LangChainTracer`` whose runs reach LangSmith scrubbed, when the entry point's
    run ends. Being a ``LangChainTracer``, it keeps ``CallbackManager.configure`` from
    adding a raw one to nested runs; its runs nest under the caller's traced runs."""

    def __init__(
        self, *, client: Any = None, record: PublicRecord | None = None, **kwargs: Any
    ) -> None:
        from langchain_core.tracers.langchain import get_client

        if not isinstance(client, ScrubbingClient):
            client = ScrubbingClient(client or get_client(), record=record)
        super().__init__(client=cast("Client", client), **kwargs)

    @classmethod
    def around(cls, tracer: LangChainTracer, record: PublicRecord | None = None) -> ScrubbingTracer:
        """A scrubbing tracer for the same project, client and parent runs as
        ``tracer``, showing the public texts of ``record`` (its private run's)."""
        return cls(
            record=record,
            example_id=tracer.example_id,
            project_name=tracer.project_name,
            address=tracer.address,
            client=tracer.client,
            tags=list(tracer.tags),
            metadata=tracer.tracing_metadata,
            # copies: the caller's tracer never holds this entry point's runs
            run_map=dict(tracer.run_map),
            order_map=dict(tracer.order_map),
            _external_run_ids=external_run_ids(tracer),
        )

    @property
    def pending(self) -> _PendingTrace:
        """This entry point's held runs."""
        return cast("ScrubbingClient", self.client).pending

    def _start_trace(self, run: Run) -> None:
        super()._start_trace(run)
        run.ls_client = self.client
        if run.replicas:  # a replica with its own client is another exit
            run.replicas = [
                cast("Any", {**r, "client": ScrubbingClient(r["client"], self.pending)})
                if r.get("client") is not None and not isinstance(r["client"], ScrubbingClient)
                else r
                for r in run.replicas
            ]
        self.pending.started(run.id)

    @staticmethod
    def _get_stacktrace(error: BaseException) -> str:
        return error_text(error)

    def on_custom_event(
        self,
        name: str,
        data: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Record a custom event (the guard's egress decisions) on the run it fired in."""
        run = self.run_map.get(str(run_id))
        if run is not None:
            time = datetime.now(UTC).isoformat()
            run.events.append({"name": name, "time": time, "kwargs": data})

    def _on_llm_end(self, run: Run) -> None:
        super()._on_llm_end(run)
        self.pending.ended(run.id)

    def _on_llm_error(self, run: Run) -> None:
        super()._on_llm_error(run)
        self.pending.ended(run.id)

    def _on_chain_end(self, run: Run) -> None:
        super()._on_chain_end(run)
        self.pending.ended(run.id)

    def _on_chain_error(self, run: Run) -> None:
        super()._on_chain_error(run)
        self.pending.ended(run.id)

    def _on_tool_end(self, run: Run) -> None:
        super()._on_tool_end(run)
        self.pending.ended(run.id)

    def _on_tool_error(self, run: Run) -> None:
        super()._on_tool_error(run)
        self.pending.ended(run.id)

    def _on_retriever_end(self, run: Run) -> None:
        super()._on_retriever_end(run)
        self.pending.ended(run.id)

    def _on_retriever_error(self, run: Run) -> None:
        super()._on_retriever_error(run)
        self.pending.ended(run.id)


# --- any other handler ------------------------------------------------------------

_PLUMBING = frozenset({"run_id", "parent_run_id", "tags", "name", "run_type", "retry_state"})
"""Callback arguments that describe the run, not its data."""

_SERIALIZED_FIRST = frozenset(
    {"on_llm_start", "on_chat_model_start", "on_chain_start", "on_tool_start", "on_retriever_start"}
)


def _scrubbed_args(
    event: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    shown = list(args)
    for index, value in enumerate(shown):
        if index == 0 and event in _SERIALIZED_FIRST:
            shown[0] = scrub_serialized(value)
        elif index == 0 and event == "on_custom_event":
            continue  # the event's name
        elif isinstance(value, BaseException):
            shown[index] = scrub_error(value)
        else:
            shown[index] = scrub(value)
    named = {
        k: v if k in _PLUMBING else scrub_error(v) if isinstance(v, BaseException) else scrub(v, k)
        for k, v in kwargs.items()
    }
    return shown, named


def _forward(event: str) -> Callable[..., Any]:
    def forward(self: ScrubbingHandler, *args: Any, **kwargs: Any) -> Any:
        with recording(self.record):
            shown, named = _scrubbed_args(event, args, kwargs)
        return getattr(self.wrapped, event)(*shown, **named)

    forward.__name__ = event
    return forward


def _aforward(event: str) -> Callable[..., Any]:
    async def forward(self: AsyncScrubbingHandler, *args: Any, **kwargs: Any) -> Any:
        with recording(self.record):
            shown, named = _scrubbed_args(event, args, kwargs)
        result = getattr(self.wrapped, event)(*shown, **named)
        return await result if inspect.isawaitable(result) else result

    forward.__name__ = event
    return forward


_EVENTS = (
    "on_llm_start",
    "on_chat_model_start",
    "on_llm_new_token",
    "on_llm_end",
    "on_llm_error",
    "on_stream_event",
    "on_chain_start",
    "on_chain_end",
    "on_chain_error",
    "on_tool_start",
    "on_tool_end",
    "on_tool_error",
    "on_retriever_start",
    "on_retriever_end",
    "on_retriever_error",
    "on_agent_action",
    "on_agent_finish",
    "on_text",
    "on_retry",
    "on_custom_event",
)


class _Wrapping:
    """What the callback manager asks of a handler, answered by the wrapped one."""

    wrapped: BaseCallbackHandler

    @property
    def ignore_llm(self) -> bool:
        return self.wrapped.ignore_llm

    @property
    def ignore_retry(self) -> bool:
        return self.wrapped.ignore_retry

    @property
    def ignore_chain(self) -> bool:
        return self.wrapped.ignore_chain

    @property
    def ignore_agent(self) -> bool:
        return self.wrapped.ignore_agent

    @property
    def ignore_retriever(self) -> bool:
        return self.wrapped.ignore_retriever

    @property
    def ignore_chat_model(self) -> bool:
        return self.wrapped.ignore_chat_model

    @property
    def ignore_custom_event(self) -> bool:
        return self.wrapped.ignore_custom_event


class ScrubbingHandler(_Wrapping, BaseCallbackHandler):
    """A callback handler that sees only what a tracer may see (see :mod:`trace_view`)."""

    def __init__(self, wrapped: BaseCallbackHandler, record: PublicRecord | None = None) -> None:
        self.wrapped = wrapped
        self.record = record or PublicRecord()
        self.raise_error = wrapped.raise_error
        self.run_inline = wrapped.run_inline

    def __repr__(self) -> str:
        return f"ScrubbingHandler({self.wrapped!r})"


class AsyncScrubbingHandler(_Wrapping, AsyncCallbackHandler):
    """:class:`ScrubbingHandler` for an ``AsyncCallbackHandler``."""

    def __init__(self, wrapped: BaseCallbackHandler, record: PublicRecord | None = None) -> None:
        self.wrapped = wrapped
        self.record = record or PublicRecord()
        self.raise_error = wrapped.raise_error
        self.run_inline = wrapped.run_inline

    def __repr__(self) -> str:
        return f"AsyncScrubbingHandler({self.wrapped!r})"


for _event in _EVENTS:
    setattr(ScrubbingHandler, _event, _forward(_event))
    setattr(AsyncScrubbingHandler, _event, _aforward(_event))
