"""The guides and the API reference build without a single warning (mkdocs --strict)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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
