"""The format of the CoGenesis authors' released data (context-aware ``dev.json``).

Each item has ``tid``, ``conversations`` (the task, then the reference), ``profile``
(earlier writings) and ``additional_profile`` (``Key: value`` lines; private details
and activity logs are ``;``-separated). The task is ``general part: personal part``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.errors import SourceFileError
from langchain_cogenesis.schema import (
    ContextAwareInstruction,
    ContextAwareTask,
    UserContext,
    UserProfile,
    Writing,
)

_PROFILE_KEYS = {
    "age": "age",
    "name": "name",
    "occupation": "occupation",
    "location": "location",
    "personal_traits": "personal_traits",
    "writing_style": "writing_style",
    "ai_assistant_usage": "ai_assistant_usage",
}


def _fields(additional_profile: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in additional_profile.splitlines():
        key, colon, value = line.partition(":")
        if colon:
            fields[key.strip().lower()] = value.strip()
    return fields


def split_task(task: str) -> ContextAwareInstruction:
    """``general part: personal part`` → the two parts (the title is public)."""
    public, _, private = task.partition(":")
    return ContextAwareInstruction(public_instruction=public, private_instruction=private)


def paper_sample_to_user(item: dict[str, Any]) -> DatasetUser:
    """One ``dev.json`` item as a user with one task."""
    fields = _fields(item.get("additional_profile", ""))
    profile = UserProfile(
        **{target: fields.get(source, "") for source, target in _PROFILE_KEYS.items()}
    )

    def split(key: str) -> list[str]:
        return [part.strip() for part in fields.get(key, "").split(";") if part.strip()]

    context = UserContext(
        user_id=f"paper-{item['tid']}",
        profile=profile,
        private_details=split("privacy_info"),
        activity_logs=split("smart_device_usage"),
        writing_history=[
            Writing(title=w.get("title", ""), text=w["text"])
            for w in item.get("profile", [])
            if w.get("text")
        ],
    )
    turns = {turn["from"]: turn["value"] for turn in item["conversations"]}
    task = ContextAwareTask(
        instruction=split_task(turns["user"]), reference=turns.get("assistant", "")
    )
    return DatasetUser(context=context, tasks=[task])


def load_paper_dev(path: Path | str) -> list[DatasetUser]:
    """Load the authors' ``dev.json``; a malformed item names its index."""
    path = Path(path)
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SourceFileError(f"{path} is not a readable JSON file: {error}") from None
    users = []
    for number, item in enumerate(items):
        try:
            users.append(paper_sample_to_user(item))
        except (KeyError, TypeError, ValueError) as error:
            raise SourceFileError(f"{path}, item {number}: {error!r}") from None
    return users
