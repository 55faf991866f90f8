"""Dataset files: the JSONL format, the bundled data, the paper's dev split, LaMP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.data.dataset import (
    assign_splits,
    load_bundled,
    load_dataset,
    of_split,
    read_jsonl,
    write_jsonl,
)
from langchain_cogenesis.data.fictional import bundled_rows
from langchain_cogenesis.data.lamp import load_lamp
from langchain_cogenesis.errors import SourceFileError
from tests.conftest import PAPER_DEV_SPLIT


def test_round_trip_and_splits(tmp_path: Path) -> None:
    rows = assign_splits(load_demo_users(), (0.34, 0.33, 0.33), seed=1)
    path = tmp_path / "data.jsonl"
    assert write_jsonl(rows, path) == 3
    again = read_jsonl(path)
    assert [r.model_dump() for r in again] == [r.model_dump() for r in rows]
    assert sorted(r.split for r in again) == ["dev", "test", "train"]
    # same seed, same split; users (not tasks) are what is split
    assert [r.split for r in assign_splits(load_demo_users(), (0.34, 0.33, 0.33), seed=1)] == [
        r.split for r in rows
    ]
    # rows that already carry a split (e.g. a loaded dataset) are split anew
    resplit = assign_splits(rows, (0.34, 0.33, 0.33), seed=1)
    assert [r.split for r in resplit] == [r.split for r in rows]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not JSON"),
        ('{"context": {"user_id": ""}, "tasks": []}', "line 2: context.user_id"),
        ('{"context": {"user_id": "a"}, "tasks": [{"reference": "x"}]}', "tasks.0.instruction"),
        ('{"context": {"user_id": "a"}, "split": "holdout"}', "line 2: split"),
        ('{"context": {"user_id": "ok"}}', "user 'ok' already appears on line 1"),
    ],
)
def test_a_broken_line_names_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"context": {"user_id": "ok"}}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match=message) as raised:
        read_jsonl(path)
    assert str(path) in str(raised.value)


def test_binary_and_missing_files_are_typed_errors(tmp_path: Path) -> None:
    binary = tmp_path / "data.jsonl"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(SourceFileError, match="not UTF-8"):
        read_jsonl(binary)
    with pytest.raises(SourceFileError, match="Cannot read"):
        read_jsonl(tmp_path / "absent.jsonl")


def test_bundled_dataset_matches_its_recipe_and_the_paper_kinds() -> None:
    rows = load_bundled()
    assert [r.model_dump() for r in rows] == [r.model_dump() for r in bundled_rows()]
    assert len(rows) >= 40 and all(len(r.tasks) == 3 for r in rows)
    assert {len(of_split(rows, s)) for s in ("train", "dev", "test")} == {28, 4, 8}
    assert len({r.context.user_id for r in rows}) == len(rows)
    publics = " ".join(t.instruction.public_instruction for r in rows for t in r.tasks)
    for kind in ("blog post", "email", "speech", "proposal", "article", "letter", "social media"):
        assert kind in publics
    for row in rows:
        assert 5 <= len(row.context.private_details) <= 10
        assert 5 <= len(row.context.activity_logs) <= 10
        for task in row.tasks:  # references use private context; public parts do not
            assert len(task.reference.split()) > 60
            assert row.context.profile.name.split()[0] not in task.instruction.public_instruction


PAPER_ITEM = {
    "tid": "7_1_2",
    "conversations": [
        {"from": "user", "value": "Write a toast for the team: mention Ana's promotion to lead"},
        {"from": "assistant", "value": "Friends, tonight we raise a glass to Ana..."},
    ],
    "profile": [{"title": "Offsite recap", "text": "We climbed, we laughed, we shipped.", "id": 1}],
    "additional_profile": (
        "Age: 34\nName: Lena Park\nOccupation: Engineering manager\nLocation: Oslo\n"
        "Privacy_info: Lena is expecting twins in May; She owes 3,000 dollars to her sister\n"
        "Smart_device_usage: 2024-01-03 Calendar: OB appointment; 2024-01-04 Search: strollers"
    ),
}


def test_the_papers_format_becomes_private_context_and_a_public_title(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text(json.dumps([PAPER_ITEM]), encoding="utf-8")
    row = load_dataset(path)[0]
    task = row.tasks[0]
    assert task.instruction.public_instruction == "Write a toast for the team"
    assert task.instruction.private_instruction.strip() == "mention Ana's promotion to lead"
    assert row.context.profile.name == "Lena Park"
    assert row.context.private_details == [
        "Lena is expecting twins in May",
        "She owes 3,000 dollars to her sister",
    ]
    assert len(row.context.activity_logs) == 2
    assert row.context.writing_history[0].title == "Offsite recap"
    path.write_text(json.dumps([{"tid": "x"}]), encoding="utf-8")
    with pytest.raises(SourceFileError, match="item 0"):
        load_dataset(path)


@pytest.mark.skipif(
    not PAPER_DEV_SPLIT.is_file(),
    reason="the authors' dev split lives in ../shared, outside the repo",
)
def test_the_papers_released_dev_split_loads_as_private_context_and_public_titles() -> None:
    rows = load_dataset(PAPER_DEV_SPLIT)
    assert len(rows) == 150
    first = rows[0]
    assert first.context.private_details and first.context.activity_logs
    assert first.tasks[0].reference
    assert ":" not in first.tasks[0].instruction.public_instruction


def write_lamp(folder: Path, task: str, count: int, split: str) -> None:
    field = "text" if task == "LaMP_6" else "abstract"
    prefix = (
        "Generate a subject for the following email: "
        if task == "LaMP_6"
        else ("Generate a title for the following abstract of a paper: ")
    )
    questions, golds = [], []
    for i in range(count):
        body = ("Short." if i == 0 else f"Dear team, item {i} of the plan is ready. " * 4).strip()
        questions.append(
            {
                "id": f"{split}{i}",
                "input": prefix + body,
                "profile": [
                    {
                        "id": f"p{j}",
                        field: f"Earlier text {j} about topic {j % 3}.",
                        "title": f"T{j}",
                    }
                    for j in range(7)
                ],
            }
        )
        golds.append({"id": f"{split}{i}", "output": f"Plan item {i}"})
    (folder / f"{split}_questions.json").write_text(json.dumps(questions), encoding="utf-8")
    (folder / f"{split}_outputs.json").write_text(
        json.dumps({"task": task, "golds": golds}), encoding="utf-8"
    )


@pytest.mark.parametrize(("task", "kind"), [("LaMP_6", "email"), ("LaMP_5", "paper")])
def test_lamp_files_become_the_papers_inverted_tasks(tmp_path: Path, task: str, kind: str) -> None:
    write_lamp(tmp_path, task, 21, "train")
    write_lamp(tmp_path, task, 4, "dev")
    rank_calls = []

    def rank(query: str, texts: list[str]) -> list[int]:
        rank_calls.append(query)
        return list(reversed(range(len(texts))))

    rows = load_lamp(tmp_path, rank=rank, history=3)
    # the one-word body is filtered out (too short), in both splits
    assert [len(of_split(rows, s)) for s in ("train", "dev", "test")] == [18, 2, 3]
    row = of_split(rows, "test")[0]
    task_ = row.tasks[0]
    assert task_.instruction.kind == kind
    assert task_.instruction.public_instruction == "Plan item 1"
    assert task_.reference.startswith("Dear team, item 1")
    assert [w.title for w in row.context.writing_history] == ["T6", "T5", "T4"]
    assert rank_calls and rank_calls[0].startswith("Plan item")


def test_lamp_errors_say_where_to_get_the_files(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match=r"lamp-benchmark\.github\.io"):
        load_lamp(tmp_path)
    write_lamp(tmp_path, "LaMP_6", 2, "train")
    (tmp_path / "train_outputs.json").write_text('{"task": "LaMP_2", "golds": []}')
    with pytest.raises(SourceFileError, match="LaMP_5 or LaMP_6"):
        load_lamp(tmp_path)
