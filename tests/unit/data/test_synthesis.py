"""The synthesis graph with a deterministic fake chat model: structure, filters, resume."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from langchain_cogenesis.data.dataset import read_jsonl
from langchain_cogenesis.data.synthesis import (
    SynthesisConfig,
    build_synthesis_graph,
    parse_json,
    synthesize,
)

LONG = " ".join(["word"] * 70)


class Writer(BaseChatModel):
    """Answers each step's prompt with JSON; the second person has too few details."""

    prompts: list[str] = Field(default_factory=list)
    people: int = 0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self, messages: Sequence[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        prompt = str(messages[-1].text)
        self.prompts.append(prompt)
        if prompt.startswith("Describe"):
            answer: Any = {"portraits": [{"group": "Night nurses"}, {"group": "Beekeepers"}]}
        elif prompt.startswith("Invent"):
            self.people += 1
            count = 3 if self.people == 2 else 6
            answer = {
                "name": f"Person {self.people}",
                "private_details": [f"Secret{self.people} detail number {i}" for i in range(count)],
                "activity_logs": [f"2024-01-0{i} Purchase of lavender" for i in range(1, 7)],
            }
        elif "writing tasks" in prompt:
            answer = {
                "tasks": [
                    {"public_instruction": "Write a post", "private_instruction": "p"},
                    {"public_instruction": "Write a note", "private_instruction": "q"},
                ]
            }
        else:
            answer = {"text": f"Lavender notes. {LONG}" if "post" in prompt else "Too short."}
        text = "Sure! ```json\n" + json.dumps(answer) + "\n```"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])


def test_parse_json_finds_the_object_in_chatter() -> None:
    assert parse_json('Here you go: {"a": [1, {"b": 2}]} hope it helps {') == {"a": [1, {"b": 2}]}


def test_graph_has_the_four_steps() -> None:
    nodes = set(build_synthesis_graph().get_graph().nodes)
    assert {"portraits", "profile", "tasks", "generate", "save"} <= nodes


def test_filters_output_and_resume(tmp_path: Path) -> None:
    model = Writer()
    config = SynthesisConfig(model=model, out=tmp_path, portraits=2, users_per_portrait=2,
                             tasks_per_user=2, min_words=50)  # fmt: skip
    assert synthesize(config) == {"made": 3, "rejected": 1}
    rows = read_jsonl(tmp_path / "dataset.jsonl")
    assert [row.context.user_id for row in rows] == ["night-nurses-0-0", "beekeepers-1-0",
                                                     "beekeepers-1-1"]  # fmt: skip
    # the short note fails the quality filter; the long post that uses the logs stays
    assert all(len(row.tasks) == 1 for row in rows)
    assert rows[0].tasks[0].instruction.public_instruction == "Write a post"
    rejected = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert rejected == [{"user_id": "night-nurses-0-1", "reason": rejected[0]["reason"]}]
    assert "3 items, expected 5 to 10" in rejected[0]["reason"]
    # texts are written in order: the second task's prompt shows the first text
    generations = [p for p in model.prompts if p.startswith("Here is a user's profile")]
    assert any("Lavender notes." in p for p in generations if "Task: Write a note" in p)

    calls = len(model.prompts)
    assert synthesize(config) == {"made": 0, "rejected": 0}  # all done: nothing is asked
    assert len(model.prompts) == calls

    lines = (tmp_path / "dataset.jsonl").read_text().splitlines()
    (tmp_path / "dataset.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    assert synthesize(config) == {"made": 1, "rejected": 0}  # only the missing user again
    assert len(read_jsonl(tmp_path / "dataset.jsonl")) == 3
