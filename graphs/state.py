"""State and run-time components shared by the graphs."""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace
from typing import Annotated, Any

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from typing_extensions import TypedDict

from langchain_cogenesis.errors import ConfigurationError
from langchain_cogenesis.privacy import EgressGuard, PolicyRule
from langchain_cogenesis.privacy.detection.paraphrase import PARAPHRASE_THRESHOLD
from langchain_cogenesis.privacy.detection.spans import Detector
from langchain_cogenesis.privacy.egress.door import Door
from langchain_cogenesis.retrievers import PrivateStore
from langchain_cogenesis.schema import TaskKind, WritingMode


def merge_timings(left: dict[str, float], right: dict[str, float]) -> dict[str, float]:
    """Reducer: add up seconds per step."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        merged[key] = merged.get(key, 0.0) + value
    return merged


class Turn(TypedDict):
    """An earlier turn of the conversation: ``role`` is ``human`` or ``ai``."""

    role: str
    content: str


class WritingInput(TypedDict, total=False):
    """What a caller passes in: the two parts, or one ``instruction`` to split locally.

    ``system`` (the caller's system prompt) and ``history`` (the conversation's
    earlier turns) are part of the request: the local model reads both; the cloud
    requests carry them too, each message decided on by the egress guard like the
    instruction (a private fact in them is redacted, or the request blocked, by the
    run's policy).
    """

    user_id: str
    public_instruction: str
    private_instruction: str
    instruction: str
    kind: TaskKind
    mode: WritingMode
    system: str
    history: list[Turn]


class WritingState(WritingInput, total=False):
    """Everything the sketch graph reads and writes."""

    public_from_user: bool
    context: list[Document]
    context_dropped: list[Document]
    sketch: str
    answer: str
    cloud_skipped: str
    degraded_reason: str
    redactions: dict[str, str]
    fusion: dict[str, Any]
    cloud_payloads: Annotated[list[dict[str, Any]], operator.add]
    timings: Annotated[dict[str, float], merge_timings]
    local_usage: Annotated[dict[str, float], merge_timings]
    """Tokens the local model read and wrote (``input_tokens``, ``output_tokens``)."""


class WritingOutput(TypedDict, total=False):
    """What a served run hands back: the answer and the record of what was sent.

    The retrieved documents, the private part and the placeholders' values stay in
    the thread's state (for resuming), readable by the thread's owner only.
    """

    user_id: str
    mode: WritingMode
    public_instruction: str
    sketch: str
    answer: str
    cloud_skipped: str
    degraded_reason: str
    route: str
    route_reason: str
    cloud_payloads: list[dict[str, Any]]
    timings: dict[str, float]


@dataclass
class Components:
    """The parts a graph run uses, passed as LangGraph's run-time context.

    A context with neither ``store`` nor ``local_model`` (as LangGraph Server builds
    from an empty context) takes all three parts from the environment:
    ``PrivateStore()``, ``ChatLocalLlama()`` and a guard to ``COGENESIS_CLOUD_BASE_URL``.

    Key fields:
        store: the user's private store (local).
        local_model: the small model that sees private context (local).
        egress_guard: the one door to the cloud; ``None`` allows only ``mode="local"``.
        k: private chunks retrieved per instruction (at least 1); chunks that do not
            fit the local model's window are dropped, least relevant first.
        sketch_max_tokens: bound on the cloud's sketch.
        answer_max_tokens: bound on a cloud answer (modes ``cloud-public``/``cloud-private``).
        allow_private_egress: required for ``mode="cloud-private"``, which sends
            private context to the cloud (the paper's upper bound).
        policy: what the guard does when a payload carries private context
            (``redact``, ``block``, ``local_only``, or one per detector type, see
            :data:`~langchain_cogenesis.privacy.PolicyRule`); ``None`` uses the guard's own.
            In ``mode="auto"`` the detectors it names also decide which requests stay
            on the device (:func:`~langchain_cogenesis.graphs.auto.route_rule`).
        canaries: strings that must never leave (tests plant them in private context).
        split_with_local_model: when one ``instruction`` is given and the rules find
            no clean public part, let the local model propose one.
        local_scorer: the local model as a token scorer (``mode="fusion"``).
        cloud_scorer: an in-process cloud scorer; ``None`` scores through
            ``egress_guard`` (``/v1/completions``), checking the tokenizer first.
        combiner: mean, max or learned pooling (default mean).
        first_k: the cloud takes part in the first k tokens only (paper Table 4).
        fusion_max_tokens: bound on a fused answer.
        fusion_draft: local proposals scored per cloud request (0: one request per
            token); greedy output is the same either way.
        entity_detector: the detector of private facts typed into a request that every
            scanner of the run uses (default: the process's, with the spaCy engine;
            ``EntityDetector(engine=None)`` for the rules alone).
        allow_remote_local_model: accept a local model whose endpoint is another host
            (:mod:`~langchain_cogenesis.models.locality`); by default a run refuses it
            before the model reads anything.
        degrade_on_cloud_error: when the cloud fails (after the guard's retries) in
            the sketch or fusion modes, raise the typed :class:`CloudError` (default:
            a failing cloud is never hidden), or, with ``True``, let the local model
            write the answer alone, the result saying ``degraded=True`` and why. The
            cloud-only modes always raise.
        allow_tracing: trace this run raw (its private text as it is), for a tracer
            that stays on the device; by default every run is traced through the
            scrubber (:mod:`~langchain_cogenesis.privacy.tracing.private`).
        overlap: in ``mode="sketch"``, ask the cloud for the sketch while the store is
            searched and the local model reads the part of its prompt that comes before
            the sketch (default ``True``); ``False`` runs the steps one after another.
            The answer is the same either way (the reading only warms the local model's
            cache).
        stored_fact_threshold: the similarity at which a clause restates one of the
            user's stored facts (:mod:`~langchain_cogenesis.privacy.detection.paraphrase`);
            ``None`` turns that detector off for the run.
    """

    # None only in a context built from nothing (LangGraph Server); the nodes then
    # take every part from the environment (``graphs.defaults.components``)
    store: PrivateStore = None  # type: ignore[assignment]
    local_model: BaseChatModel = None  # type: ignore[assignment]
    egress_guard: EgressGuard | None = None
    k: int = 4
    sketch_max_tokens: int = 256
    answer_max_tokens: int = 512
    allow_private_egress: bool = False
    policy: PolicyRule | None = None
    canaries: tuple[str, ...] = ()
    split_with_local_model: bool = True
    local_scorer: Any = None
    cloud_scorer: Any = None
    combiner: Any = None
    first_k: int | None = None
    fusion_max_tokens: int = 256
    fusion_draft: int = 0
    degrade_on_cloud_error: bool = False
    entity_detector: Detector | None = None
    allow_remote_local_model: bool = False
    allow_tracing: bool = False
    stored_fact_threshold: float | None = PARAPHRASE_THRESHOLD
    overlap: bool = True

    def __post_init__(self) -> None:
        at_least = {
            "k": (self.k, 1),
            "sketch_max_tokens": (self.sketch_max_tokens, 1),
            "answer_max_tokens": (self.answer_max_tokens, 1),
            "fusion_max_tokens": (self.fusion_max_tokens, 1),
            "fusion_draft": (self.fusion_draft, 0),
            "first_k": (self.first_k if self.first_k is not None else 0, 0),
        }
        for name, (value, low) in at_least.items():
            if not isinstance(value, int) or value < low:
                raise ConfigurationError(
                    f"Components.{name} must be an integer >= {low}, not {value!r}."
                )

    def door(self) -> Door:
        """The door this run's cloud payloads pass: the guard's, under the run's
        policy; without a guard (an in-process cloud scorer), one that audits nothing."""
        guard = self.egress_guard
        door = guard.door if guard is not None else Door("in-process")
        return replace(door, policy=self.policy) if self.policy is not None else door
