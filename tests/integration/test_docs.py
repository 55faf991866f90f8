"""The guides and the API reference build without a single warning (mkdocs --strict),
and the README's and quickstart's Python snippets run as written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_docs_build_strictly_with_the_api_reference(tmp_path: Path) -> None:
    view = REPO / "build" / "typecheck"
    done = subprocess.run(["make", "-s", "view"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    site = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    assert "WARNING" not in built.stderr
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("EgressGuard", "ChatCoGenesisFusion", "PrivateContextRetriever", "Judge"):
        assert name in api
    assert view.is_dir()


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs)
    (docs / "results.md").write_text("[gone](nowhere.md)\n", encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    text = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    text = text.replace("docs_dir: docs", f"docs_dir: {docs}").replace(
        "paths: [build/typecheck]", f"paths: [{REPO / 'build' / 'typecheck'}]"
    )
    config.write_text(text, encoding="utf-8")
    subprocess.run(["make", "-s", "view"], cwd=REPO, check=True)
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config),
         "--site-dir", str(tmp_path / "site")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode != 0
    assert "nowhere.md" in built.stderr


def python_blocks(markdown: str) -> list[str]:
    """The ```python blocks of a Markdown page, in order."""
    blocks, current = [], None
    for line in markdown.splitlines():
        if current is None and line.strip() == "```python":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


@pytest.mark.parametrize("page", ["README.md", "docs/quickstart.md"])
def test_the_snippets_run_as_written(
    page: str, tmp_path: Path, standin: Any, model_path: Path
) -> None:
    """Each page's Python blocks, run in order in one fresh process as a reader would
    paste them, against the stand-in cloud named by the variables the pages name."""
    blocks = python_blocks((REPO / page).read_text(encoding="utf-8"))
    assert blocks, f"{page} has no Python block"
    script = tmp_path / "snippets.py"
    script.write_text("\n\n".join(blocks) + "\nprint('SNIPPETS RAN')\n", encoding="utf-8")
    env = {
        **os.environ,
        "COGENESIS_HOME": str(tmp_path / "home"),
        "COGENESIS_LOCAL_MODEL": str(model_path),
        "COGENESIS_CLOUD_BASE_URL": standin.base_url,
        "COGENESIS_CLOUD_MODEL": standin.model,
        "OPENAI_API_KEY": "sk-not-used",
    }
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.rstrip().endswith("SNIPPETS RAN")
    if page == "README.md":  # what the snippet prints: the answer, then the payloads
        assert "CloudPayload(" in done.stdout
