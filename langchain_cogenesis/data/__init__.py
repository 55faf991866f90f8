"""Data shipped with the package: the fictional demo users (paper Fig. 2 format)."""

from __future__ import annotations

import json
from importlib.resources import files

from pydantic import BaseModel, Field

from langchain_cogenesis.schema import ContextAwareTask, UserContext


class DatasetUser(BaseModel):
    """One user of a context-aware dataset: private context and writing tasks."""

    context: UserContext
    tasks: list[ContextAwareTask] = Field(default_factory=list)


def load_demo_users() -> list[DatasetUser]:
    """The fictional users bundled for the demo and the tests."""
    raw = files("langchain_cogenesis.data").joinpath("demo_users.json").read_text("utf-8")
    return [DatasetUser.model_validate(item) for item in json.loads(raw)]


__all__ = ["DatasetUser", "load_demo_users"]
