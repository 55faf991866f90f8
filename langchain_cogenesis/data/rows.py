"""One row of a context-aware dataset: a user, their tasks, and their split.

The loaders (:mod:`~langchain_cogenesis.data.dataset`, :mod:`~langchain_cogenesis.data.lamp`,
the synthesis pipeline) all produce rows; they import the type from here, so no
loader needs another.
"""

from __future__ import annotations

from typing import Literal

from langchain_cogenesis.data import DatasetUser

Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")

__all__ = ["SPLITS", "DatasetRow", "Split"]


class DatasetRow(DatasetUser):
    """One line of a dataset file: a user, their tasks, and the split they belong to."""

    split: Split = "train"
