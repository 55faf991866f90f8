"""The synthesis pipeline of paper §2.2 / appendix A.1 as a LangGraph graph over any chat model.

    portraits ─► next_user ─► profile ─► tasks ─► generate ─► save ─► next_user … ─► END

1. group portraits (age range, occupation, activities, where an assistant helps);
2. for each portrait, users: writing style, 5-10 private details, 5-10 activity logs;
3. K writing tasks tied to the profile, each a public part and a private part;
4. the personalized texts, written in order (each sees the ones before it).

Every answer must be JSON of the asked shape (format filter); a generation that is too
short or uses none of the user's private context is dropped (quality filter); a user
left with no task is rejected, with the reason kept in ``rejected.jsonl``. Finished
users are appended to ``dataset.jsonl`` as they complete, so a re-run skips them.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from pydantic import ValidationError

from langchain_cogenesis.data.rows import DatasetRow
from langchain_cogenesis.prompts import (
    SYNTHESIS_GENERATE,
    SYNTHESIS_PORTRAITS,
    SYNTHESIS_PROFILE,
    SYNTHESIS_SYSTEM,
    SYNTHESIS_TASKS,
)
from langchain_cogenesis.schema import (
    ContextAwareInstruction,
    ContextAwareTask,
    UserContext,
    UserProfile,
)


class SynthesisState(TypedDict, total=False):
    """What the graph carries from step to step."""

    portraits: list[dict[str, Any]]
    queue: list[tuple[str, int]]
    """(user id, portrait index) still to make."""
    current: tuple[str, int] | None
    profile: dict[str, Any]
    tasks: list[dict[str, str]]
    texts: list[str]
    made: Annotated[int, operator.add]
    rejected: Annotated[int, operator.add]


@dataclass
class SynthesisConfig:
    """The run-time context of the synthesis graph.

    Key fields:
        model: any chat model.
        out: folder of ``dataset.jsonl``, ``rejected.jsonl`` and ``portraits.json``.
        portraits, users_per_portrait, tasks_per_user: sizes (K = ``tasks_per_user``).
        min_words: a generation shorter than this is dropped.
    """

    model: BaseChatModel
    out: Path
    portraits: int = 3
    users_per_portrait: int = 2
    tasks_per_user: int = 3
    min_words: int = 60
    progress: Any = None


class FormatError(ValueError):
    """A model answer that is not JSON of the asked shape."""


def parse_json(text: str) -> dict[str, Any]:
    """The first JSON object in ``text`` (code fences and chatter around it are ignored)."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text[start:])
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    raise FormatError("no JSON object in the answer")


def _ask(parts: SynthesisConfig, prompt: str) -> dict[str, Any]:
    reply = parts.model.invoke([SystemMessage(SYNTHESIS_SYSTEM), HumanMessage(prompt)])
    return parse_json(str(reply.text))


def _strings(value: Any, low: int, high: int, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise FormatError(f"{what} must be a list of strings")
    if not low <= len(value) <= high:
        raise FormatError(f"{what}: {len(value)} items, expected {low} to {high}")
    return [v.strip() for v in value]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "group"


def done_ids(out: Path) -> set[str]:
    """Users already written or rejected by an earlier run."""
    ids: set[str] = set()
    for name in ("dataset.jsonl", "rejected.jsonl"):
        path = out / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                user_id = record.get("context", {}).get("user_id") or record.get("user_id")
                if user_id:
                    ids.add(str(user_id))
    return ids


def portraits(state: SynthesisState, runtime: Runtime[SynthesisConfig]) -> dict[str, Any]:
    """Step 1, once per output folder (kept in ``portraits.json``)."""
    parts = runtime.context
    saved = parts.out / "portraits.json"
    if saved.is_file():
        found = json.loads(saved.read_text(encoding="utf-8"))
    else:
        found = []
        for _ in range(3):  # a bounded retry when the answer has no usable list
            try:
                answer = _ask(parts, SYNTHESIS_PORTRAITS.format(count=parts.portraits))
                found = [p for p in answer.get("portraits", []) if isinstance(p, dict)]
            except FormatError:
                found = []
            if found:
                break
        if not found:
            raise FormatError("the model gave no group portraits in three tries")
        found = found[: parts.portraits]
        parts.out.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(found, indent=2, ensure_ascii=False), encoding="utf-8")
    finished = done_ids(parts.out)
    queue = [
        (f"{_slug(str(p.get('group', 'group')))}-{i}-{n}", i)
        for i, p in enumerate(found)
        for n in range(parts.users_per_portrait)
    ]
    if parts.progress is not None:
        parts.progress.reset(total=len(queue))
        parts.progress.update(len([q for q in queue if q[0] in finished]))
    return {"portraits": found, "queue": [q for q in queue if q[0] not in finished]}


def next_user(state: SynthesisState) -> dict[str, Any]:
    """Take the next user off the queue."""
    queue = list(state.get("queue", []))
    current = queue.pop(0) if queue else None
    return {"queue": queue, "current": current, "profile": {}, "tasks": [], "texts": []}


def route_next(state: SynthesisState) -> str:
    """Make the next user, or stop."""
    return "profile" if state.get("current") else END


def profile(state: SynthesisState, runtime: Runtime[SynthesisConfig]) -> dict[str, Any]:
    """Step 2: one user of the current portrait."""
    current = state["current"]
    assert current is not None
    portrait = json.dumps(state["portraits"][current[1]], ensure_ascii=False)
    try:
        answer = _ask(runtime.context, SYNTHESIS_PROFILE.format(portrait=portrait))
        answer["private_details"] = _strings(
            answer.get("private_details"), 5, 10, "private_details"
        )
        answer["activity_logs"] = _strings(answer.get("activity_logs"), 5, 10, "activity_logs")
        if not str(answer.get("name", "")).strip():
            raise FormatError("the profile has no name")
    except FormatError as error:
        return {"profile": {"error": f"profile: {error}"}}
    return {"profile": answer}


def tasks(state: SynthesisState, runtime: Runtime[SynthesisConfig]) -> dict[str, Any]:
    """Step 3: K tasks, each with a public and a private part."""
    if "error" in state["profile"]:
        return {}
    parts = runtime.context
    try:
        answer = _ask(
            parts,
            SYNTHESIS_TASKS.format(
                profile=json.dumps(state["profile"]), count=parts.tasks_per_user
            ),
        )
        found = [
            {
                "public_instruction": str(t["public_instruction"]).strip(),
                "private_instruction": str(t.get("private_instruction", "")).strip(),
            }
            for t in answer.get("tasks", [])
            if isinstance(t, dict) and str(t.get("public_instruction", "")).strip()
        ]
    except (FormatError, KeyError) as error:
        return {"profile": {**state["profile"], "error": f"tasks: {error}"}}
    if not found:
        return {"profile": {**state["profile"], "error": "tasks: none in the answer"}}
    return {"tasks": found[: parts.tasks_per_user]}


def generate(state: SynthesisState, runtime: Runtime[SynthesisConfig]) -> dict[str, Any]:
    """Step 4: the texts, in order; each sees the earlier ones."""
    if "error" in state["profile"]:
        return {}
    parts = runtime.context
    texts: list[str] = []
    for task in state["tasks"]:
        earlier = "\n\n".join(texts) or "(none yet)"
        instruction = f"{task['public_instruction']}: {task['private_instruction']}"
        try:
            answer = _ask(
                parts,
                SYNTHESIS_GENERATE.format(
                    profile=json.dumps(state["profile"]), earlier=earlier, task=instruction
                ),
            )
            texts.append(str(answer.get("text", "")).strip())
        except FormatError:
            texts.append("")
    return {"texts": texts}


def uses_private_context(text: str, details: Sequence[str]) -> bool:
    """Whether ``text`` shares a content word of 5+ letters with the private details."""
    words = {w for d in details for w in re.findall(r"[A-Za-z]{5,}", d.lower())}
    return bool(words & set(re.findall(r"[A-Za-z]{5,}", text.lower())))


def save(state: SynthesisState, runtime: Runtime[SynthesisConfig]) -> dict[str, Any]:
    """Quality filter, then append the user to ``dataset.jsonl`` (or ``rejected.jsonl``)."""
    parts = runtime.context
    current = state["current"]
    assert current is not None
    user_id, made, rejected = current[0], 0, 0
    info = state["profile"]
    reason = info.get("error", "")
    kept: list[ContextAwareTask] = []
    if not reason:
        details = [*info["private_details"], *info["activity_logs"]]
        for task, text in zip(state["tasks"], state["texts"], strict=False):
            if len(text.split()) >= parts.min_words and uses_private_context(text, details):
                kept.append(
                    ContextAwareTask(
                        instruction=ContextAwareInstruction(
                            public_instruction=task["public_instruction"],
                            private_instruction=task["private_instruction"],
                        ),
                        reference=text,
                    )
                )
        if not kept:
            reason = "quality: no generation was long enough and used the private context"
    if not reason:
        try:
            row = DatasetRow(
                context=UserContext(
                    user_id=user_id,
                    profile=UserProfile(
                        **{
                            key: str(info.get(key, ""))
                            for key in ("name", "age", "occupation", "location")
                        },
                        personal_traits=str(info.get("personal_traits", "")),
                        writing_style=str(info.get("writing_style", "")),
                    ),
                    private_details=info["private_details"],
                    activity_logs=info["activity_logs"],
                ),
                tasks=kept,
            )
        except ValidationError as error:
            reason = f"format: {error.errors()[0]['msg']}"
    parts.out.mkdir(parents=True, exist_ok=True)
    if reason:
        with (parts.out / "rejected.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps({"user_id": user_id, "reason": reason}) + "\n")
        rejected = 1
    else:
        with (parts.out / "dataset.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps(row.model_dump(mode="json"), ensure_ascii=False) + "\n")
        made = 1
    if parts.progress is not None:
        parts.progress.update(1)
    return {"made": made, "rejected": rejected}


def build_synthesis_graph() -> CompiledStateGraph[SynthesisState, SynthesisConfig, Any, Any]:
    """The four-step synthesis graph."""
    builder = StateGraph(SynthesisState, context_schema=SynthesisConfig)
    builder.add_node("portraits", portraits)
    builder.add_node("next_user", next_user)
    builder.add_node("profile", profile)
    builder.add_node("tasks", tasks)
    builder.add_node("generate", generate)
    builder.add_node("save", save)
    builder.add_edge(START, "portraits")
    builder.add_edge("portraits", "next_user")
    builder.add_conditional_edges("next_user", route_next, ["profile", END])
    builder.add_edge("profile", "tasks")
    builder.add_edge("tasks", "generate")
    builder.add_edge("generate", "save")
    builder.add_edge("save", "next_user")
    return builder.compile(name="cogenesis-synthesis")


def synthesize(config: SynthesisConfig, *, show_progress: bool = False) -> dict[str, int]:
    """Run (or resume) the pipeline; returns how many users were made and rejected now."""
    from tqdm.auto import tqdm

    graph = build_synthesis_graph()
    with tqdm(desc="synthesis", unit="user", disable=not show_progress) as bar:
        config.progress = bar
        users = config.portraits * config.users_per_portrait
        state = graph.invoke({}, context=config, config={"recursion_limit": 10 + 6 * users})
    return {"made": state.get("made", 0), "rejected": state.get("rejected", 0)}
