"""The wheel as a user gets it: built, installed into a clean virtual environment
without extras, then with extras added one at a time, each checked on its own.

The base install must import every module that needs no extra, run the CLI and the
sketch path with the caller's own parts, and name the extra that every other part
needs (the check of ``tests/unit/test_imports.py``, run in the new environment).
Then ``fusion`` (after the pinned CPU torch) and ``eval`` are added, each with a check
that it works without the others. pip's cache is used and nothing is byte-compiled,
so a second run mostly copies files; the packages come from the configured index.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_imports import ROOT, setuptools_config, source_packages

pytestmark = pytest.mark.integration

TORCH = "torch==2.13.0"  # as in the Makefile: the CPU build, never a CUDA one
CHECK = ROOT / "tests" / "unit" / "test_imports.py"


class CleanEnvironment:
    """A virtual environment without pip; this interpreter's pip installs into it."""

    def __init__(self, folder: Path, wheel: Path) -> None:
        self.folder = folder
        self.wheel = wheel
        self.seconds: dict[str, float] = {}
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
        self.python = folder / "bin" / "python"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "VIRTUAL_ENV", "COGENESIS_CLOUD_BASE_URL")
        }

    def install(self, label: str, *requirements: str) -> None:
        started = time.perf_counter()
        command = [sys.executable, "-m", "pip", "--python", str(self.python), "install"]
        command += ["--quiet", "--no-compile", *requirements]
        done = subprocess.run(command, capture_output=True, text=True, env=self.env)
        assert done.returncode == 0, done.stderr[-4000:]
        self.seconds[label] = round(time.perf_counter() - started, 1)

    def extra(self, name: str) -> None:
        self.install(name, f"{self.wheel}[{name}]")

    def run(self, *command: str | Path) -> str:
        done = subprocess.run(
            [str(part) for part in command],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.folder,  # not the repository: nothing there may shadow the install
            timeout=300,
        )
        assert done.returncode == 0, f"{command}: {done.stderr[-4000:]}"
        return done.stdout

    def python_code(self, code: str) -> str:
        return self.run(self.python, "-c", code)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (the build leaves nothing here)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in setuptools_config()["package-dir"].values():
        shutil.copytree(
            ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    dist = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    command += ["--no-build-isolation", "--wheel-dir", str(dist), str(source)]
    subprocess.run(command, check=True, capture_output=True)
    (built,) = dist.glob("langchain_cogenesis-*.whl")
    return built


@pytest.fixture(scope="module")
def environment(
    wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CleanEnvironment]:
    made = CleanEnvironment(tmp_path_factory.mktemp("venv") / "venv", wheel)
    made.env["COGENESIS_HOME"] = str(tmp_path_factory.mktemp("home"))
    made.install("base", str(wheel))
    yield made
    print(f"\nclean install, seconds per step: {json.dumps(made.seconds)}")


def wheel_modules(wheel: Path) -> list[str]:
    """Every module in the wheel, ``__main__`` aside (it runs the CLI)."""
    names = []
    for entry in zipfile.ZipFile(wheel).namelist():
        if entry.endswith(".py") and not entry.endswith("__main__.py"):
            name = entry.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
            names.append(name)
    return sorted(names)


def test_the_wheel_holds_every_package_and_data_file(wheel: Path) -> None:
    entries = set(zipfile.ZipFile(wheel).namelist())
    for package, folder in source_packages().items():
        for path in folder.iterdir():
            if path.is_file() and path.suffix != ".pyc":
                inside = "/".join((*package.split("."), path.name))
                assert inside in entries, f"{path.relative_to(ROOT)} is not in the wheel"
    assert "langchain_cogenesis/py.typed" in entries
    metadata = zipfile.ZipFile(wheel).read(
        next(e for e in entries if e.endswith(".dist-info/METADATA"))
    )
    # the contributors' tools are dependency groups, not extras a user sees
    assert b"Provides-Extra: test" not in metadata
    assert b"Provides-Extra: fusion" in metadata


def test_base_install_runs_the_cli_and_the_sketch_path(
    environment: CleanEnvironment, wheel: Path
) -> None:
    cli = environment.folder / "bin" / "cogenesis"
    assert "finetune" in environment.run(cli, "--help")
    assert "--dev-share" in environment.run(cli, "finetune", "--help")
    modules = environment.folder.parent / "modules.json"
    modules.write_text(json.dumps(wheel_modules(wheel)), encoding="utf-8")
    report = json.loads(environment.run(environment.python, CHECK, modules).splitlines()[-1])
    # nothing of an extra is installed: what needs one says which
    assert report["imports"]["langchain_cogenesis.fusion.chat_model"] == "needs fusion"
    assert report["imports"]["langchain_cogenesis.evaluation.metrics"] == "needs eval"
    assert report["imports"]["langchain_cogenesis.graphs"] == "ok"
    assert len(report["typed_errors"]) == 3
    assert report["sketch"]["cloud_requests"] >= 1
    version = environment.python_code("import langchain_cogenesis as p; print(p.__version__)")
    assert (
        version.strip()
        == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    )


def test_fusion_extra_on_its_own(environment: CleanEnvironment) -> None:
    environment.install("torch", TORCH)
    environment.extra("fusion")
    out = environment.python_code(
        "import numpy as np\n"
        "from langchain_cogenesis import ChatCoGenesisFusion\n"
        "from langchain_cogenesis.errors import MissingExtra\n"
        "from langchain_cogenesis.fusion import LearnedCombiner, MeanCombiner\n"
        "from langchain_cogenesis.fusion.scorers import TopK\n"
        "local = TopK(np.array([1, 2]), np.log(np.array([0.6, 0.3])))\n"
        "cloud = TopK(np.array([2, 3]), np.log(np.array([0.7, 0.2])))\n"
        "mean = MeanCombiner().combine(local, cloud, vocab_size=50)\n"
        "learned = LearnedCombiner().combine(local, cloud, vocab_size=50)\n"  # torch
        "print(int(mean.ids[mean.probs.argmax()]), 0.0 <= learned.weight <= 1.0)\n"
        "from langchain_cogenesis.retrievers import PrivateStore\n"
        "try:\n"
        "    PrivateStore()\n"
        "except MissingExtra as error:\n"
        "    print(error.extra)\n"
    )
    # token 2: 0.5 * 0.3 + 0.5 * 0.7 beats token 1; the store still needs `local`
    assert out.split() == ["2", "True", "local"]


def test_eval_extra_on_its_own(environment: CleanEnvironment) -> None:
    environment.extra("eval")
    out = environment.python_code(
        "from langchain_cogenesis.evaluation.metrics import bleu, rouge_l\n"
        "import langchain_cogenesis.evaluation.runner, langchain_cogenesis.graphs.evaluate\n"
        "same = 'the harvest festival starts at noon in the square'\n"
        "print(round(bleu([same], [same])), round(rouge_l([same], ['the festival'])))\n"
    )
    # identical: BLEU 100; ROUGE-L F of a 2-word LCS over 9 and 2 words: 2*(2/9*1)/(2/9+1)
    assert out.split() == ["100", "36"]
