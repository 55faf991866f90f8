"""The context-aware dataset format (paper §2, Fig. 2, appendix A): JSONL, one user a line.

Each line is a JSON object::

    {"split": "train" | "dev" | "test",
     "context": {"user_id", "profile": {name, age, occupation, location,
                 personal_traits, writing_style}, "private_details": [...],
                 "activity_logs": [...], "writing_history": [{"title", "text"}]},
     "tasks": [{"instruction": {"public_instruction", "private_instruction", "kind"},
                "reference": "..."}]}

``public_instruction`` is the task's general part (it may go to the cloud),
``private_instruction`` its personal part (it stays on the device).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from importlib.resources import files
from pathlib import Path

from pydantic import ValidationError

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.data.rows import SPLITS, DatasetRow, Split
from langchain_cogenesis.errors import ConfigurationError, SourceFileError

__all__ = [
    "SPLITS",
    "DatasetRow",
    "Split",
    "assign_splits",
    "load_bundled",
    "load_dataset",
    "of_split",
    "parse_lines",
    "read_jsonl",
    "train_dev",
    "write_jsonl",
]


def read_jsonl(path: Path | str) -> list[DatasetRow]:
    """Load a dataset file; a malformed line raises an error naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SourceFileError(f"{path} is not UTF-8 text (a dataset is JSONL).") from None
    except OSError as error:
        raise SourceFileError(f"Cannot read {path}: {error.strerror or error}.") from None
    return list(parse_lines(text.splitlines(), str(path)))


def parse_lines(lines: Iterable[str], source: str) -> Iterator[DatasetRow]:
    """Rows of JSONL ``lines``; blank lines are skipped; user ids must be unique."""
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = DatasetRow.model_validate(json.loads(line))
        except json.JSONDecodeError as error:
            raise SourceFileError(f"{source}, line {number}: not JSON ({error.msg}).") from None
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise SourceFileError(
                f"{source}, line {number}: {where}: {first['msg']} "
                f"({error.error_count()} problem(s) in this line)."
            ) from None
        user_id = row.context.user_id
        if user_id in seen:
            raise SourceFileError(
                f"{source}, line {number}: user {user_id!r} already appears on line "
                f"{seen[user_id]}."
            )
        seen[user_id] = number
        yield row


def write_jsonl(rows: Iterable[DatasetUser], path: Path | str, split: Split | None = None) -> int:
    """Write rows (keeping each row's split unless ``split`` is given); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            data = row.model_dump(mode="json")
            if split is not None or "split" not in data:
                data["split"] = split or "train"
            out.write(json.dumps(data, ensure_ascii=False) + "\n")
            count += 1
    return count


def assign_splits(
    users: Sequence[DatasetUser],
    shares: tuple[float, float, float] = (0.7, 0.1, 0.2),
    seed: int = 0,
) -> list[DatasetRow]:
    """Split users (never their tasks) into train/dev/test by ``shares``, reproducibly."""
    if len(shares) != 3 or any(s < 0 for s in shares) or abs(sum(shares) - 1) > 1e-9:
        raise ValueError("shares must be three non-negative numbers that sum to 1")
    order = list(range(len(users)))
    random.Random(seed).shuffle(order)
    dev_at = round(len(users) * shares[0])
    test_at = dev_at + round(len(users) * shares[1])
    rows = []
    for rank, index in enumerate(order):
        split: Split = "train" if rank < dev_at else "dev" if rank < test_at else "test"
        rows.append(DatasetRow(**users[index].model_dump(exclude={"split"}), split=split))
    return rows


def of_split(rows: Sequence[DatasetRow], split: Split) -> list[DatasetRow]:
    """The rows of one split."""
    return [row for row in rows if row.split == split]


def train_dev(
    rows: Sequence[DatasetRow], *, dev_share: float = 0.1, limit: int | None = None
) -> tuple[list[DatasetRow], list[DatasetRow]]:
    """The train and dev users; rows without those splits are cut by ``dev_share``.

    ``limit`` keeps at most that many train users (and a quarter as many dev users).

    Raises:
        ConfigurationError: fewer than two users to share between train and dev.
    """
    train, dev = of_split(rows, "train"), of_split(rows, "dev")
    if not train or not dev:  # no splits in the file: cut one
        if len(rows) < 2:
            raise ConfigurationError("The dataset needs at least two users (train and dev).")
        dev_count = max(1, round(len(rows) * dev_share))
        train, dev = list(rows[dev_count:]), list(rows[:dev_count])
    if limit:
        train, dev = train[:limit], dev[: max(1, limit // 4)]
    return train, dev


def load_bundled(split: Split | None = None) -> list[DatasetRow]:
    """The fictional dataset shipped with the package (see docs/evaluation.md)."""
    text = files("langchain_cogenesis.data").joinpath("bundled.jsonl").read_text("utf-8")
    rows = list(parse_lines(text.splitlines(), "bundled.jsonl"))
    return rows if split is None else of_split(rows, split)


def load_dataset(spec: str | Path) -> list[DatasetRow]:
    """``bundled``, ``demo``, the paper's ``dev.json``, a LaMP folder, or a JSONL file."""
    from langchain_cogenesis.data import load_demo_users

    if spec == "bundled":
        return load_bundled()
    if spec == "demo":
        return [DatasetRow(**u.model_dump(), split="test") for u in load_demo_users()]
    path = Path(spec)
    if path.suffix == ".json":
        from langchain_cogenesis.data.paper import load_paper_dev

        return [DatasetRow(**u.model_dump(), split="test") for u in load_paper_dev(path)]
    if path.is_dir():
        from langchain_cogenesis.data.lamp import load_lamp

        return load_lamp(path)
    return read_jsonl(path)
