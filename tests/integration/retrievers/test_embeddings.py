"""The bundled sentence encoder: the plain-torch BERT path against sentence-transformers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from langchain_cogenesis.retrievers.bert import load_bert_encoder
from langchain_cogenesis.retrievers.embeddings import bundled_embedding_model_path

pytestmark = pytest.mark.integration

TEXTS = [
    "Weekend plans with Mara at the bakery on Elm Row.",
    "I swim on Tuesdays and keep a log of my times.",
    "word " * 400,  # beyond the 256-token window: truncated the same way
    "Grüße aus Köln — naïve café, 12:30",
    "",
]


def test_the_bert_path_gives_sentence_transformers_vectors() -> None:
    from sentence_transformers import SentenceTransformer

    folder = bundled_embedding_model_path()
    encoder = load_bert_encoder(folder)
    assert encoder is not None
    ours = np.array(encoder.encode(TEXTS, batch_size=2))  # padding across a batch, too
    theirs = SentenceTransformer(str(folder), device="cpu", local_files_only=True).encode(
        TEXTS, normalize_embeddings=True
    )
    assert ours.shape == (len(TEXTS), 384)
    assert np.abs(ours - theirs).max() < 1e-5
    # the control: another text is far from the first, so the bound is not loose
    assert np.abs(ours[0] - ours[1]).max() > 1e-2


def test_embedding_imports_neither_transformers_nor_sentence_transformers() -> None:
    probe = (
        "import sys, json\n"
        "from langchain_cogenesis.retrievers import LocalEmbeddings\n"
        "vector = LocalEmbeddings().embed_query('bakery on Elm Row')\n"
        "print(json.dumps([len(vector), sorted(m for m in ('transformers', "
        "'sentence_transformers') if m in sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
    )
    assert json.loads(done.stdout.splitlines()[-1]) == [384, []]


def test_other_folders_are_left_to_sentence_transformers(tmp_path: Path) -> None:
    folder = bundled_embedding_model_path()
    copy = tmp_path / "model"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("*.safetensors"))
    (copy / "model.safetensors").symlink_to(folder / "model.safetensors")
    assert load_bert_encoder(copy) is not None
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "model_type": "roberta"}))
    assert load_bert_encoder(copy) is None
    (copy / "config.json").write_text(json.dumps(config))
    (copy / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 384, "pooling_mode_max_tokens": True})
    )
    assert load_bert_encoder(copy) is None
