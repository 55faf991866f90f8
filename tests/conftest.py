"""Shared fixtures. Integration fixtures start real components once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_cogenesis.data import DatasetUser, load_demo_users

REPO = Path(__file__).resolve().parents[1]
PAPER_DEV_SPLIT = REPO.parent / "shared" / "data" / "cogenesis-context-aware" / "dev.json"


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test session gets its own COGENESIS_HOME; the GGUF is assembled there once."""
    home = tmp_path_factory.mktemp("cogenesis-home")
    saved = {
        key: os.environ.get(key)
        for key in (
            "COGENESIS_HOME",
            "COGENESIS_CLOUD_BASE_URL",
            "COGENESIS_CHROMA_URL",
            "HF_HUB_OFFLINE",
        )
    }
    os.environ["COGENESIS_HOME"] = str(home)
    os.environ.pop("COGENESIS_CLOUD_BASE_URL", None)
    os.environ.pop("COGENESIS_CHROMA_URL", None)
    os.environ["HF_HUB_OFFLINE"] = "1"
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def demo_users() -> list[DatasetUser]:
    return load_demo_users()


@pytest.fixture(scope="session")
def model_path(isolated_home: Path) -> Path:
    from langchain_cogenesis.models import bundled_model_path

    return bundled_model_path(isolated_home / "models")


@pytest.fixture(scope="session")
def standin(model_path: Path) -> Iterator[object]:
    from langchain_cogenesis.models import StandInCloud

    with StandInCloud(model_path, n_ctx=2048) as cloud:
        yield cloud


@pytest.fixture()
def store(tmp_path: Path) -> object:
    from langchain_cogenesis.retrievers import PrivateStore

    return PrivateStore(tmp_path / "store")
