"""The ``cogenesis`` command, run as a user would run it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from langchain_cogenesis.models.standin import StandInCloud, free_port
from langchain_cogenesis.privacy.egress.audit import SENT_DECISIONS
from tests.cli_runner import cli_environment, run_in_process

pytestmark = pytest.mark.integration


def cogenesis(
    home: Path,
    *args: str,
    cloud: str | None = None,
    model: Path | None = None,
    child: bool = False,
) -> subprocess.CompletedProcess[str]:
    """``cogenesis ARGS`` with ``home`` as COGENESIS_HOME: in this process by default
    (what the command does), in a child process with ``child=True`` (the process itself)."""
    env = cli_environment(home, cloud=cloud, model=model)
    if not child:
        return run_in_process(*args, env=env)
    merged = {**os.environ, **{key: value for key, value in env.items() if value is not None}}
    for key in (key for key, value in env.items() if value is None):
        merged.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "langchain_cogenesis.cli", *args],
        env=merged,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_demo_prints_instruction_sketch_answer_and_egress(tmp_path: Path, model_path: Path) -> None:
    done = cogenesis(
        tmp_path,
        "demo",
        "--max-tokens",
        "32",
        "--sketch-tokens",
        "48",
        "--seed",
        "1",
        model=model_path,
        child=True,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Started the stand-in cloud model at http://127.0.0.1:" in out
    assert "Public instruction (may go to the cloud):" in out
    assert "Sketch from the cloud (after " in out
    assert "Personalized answer (local model):" in out
    assert "Sent to the cloud (1 request(s)):" in out
    assert "Private facts the answer drew on (shown here, never sent):" in out
    sent = out.split("Sent to the cloud")[1]
    assert "Write a welcome speech for a community garden's summer harvest festival" in sent
    assert "Halvorsen" not in sent and "celiac" not in sent
    assert "stored" in out and "maya-okafor" in out
    # the stand-in was stopped: nothing listens on its port any more
    port = int(re.search(r"http://127.0.0.1:(\d+)/v1", out).group(1))  # type: ignore[union-attr]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_ingest_write_users_and_delete(
    tmp_path: Path, model_path: Path, standin: StandInCloud
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "trip.md").write_text(
        "# Lisbon trip\nBooked flight TP 1234 to Lisbon on 3 October, seat 14C.", encoding="utf-8"
    )
    (notes / "log.jsonl").write_text('{"text": "Bought sunscreen"}\n', encoding="utf-8")
    home = tmp_path / "home"
    ingested = cogenesis(home, "ingest", "--user", "ana", str(notes))
    assert ingested.returncode == 0, ingested.stderr
    assert "Stored 2 chunks from 2 documents for ana." in ingested.stdout

    listed = cogenesis(home, "users", "list", "--json")
    assert json.loads(listed.stdout) == [{"user_id": "ana", "chunks": 2}]

    written = cogenesis(
        home,
        "write",
        "--user",
        "ana",
        "--json",
        "--max-tokens",
        "24",
        "--sketch-tokens",
        "32",
        "--private",
        "mention my Lisbon flight",
        "Write a short out-of-office reply",
        cloud=standin.base_url,
        model=model_path,
    )
    assert written.returncode == 0, written.stderr
    result = json.loads(written.stdout)
    assert result["mode"] == "sketch" and result["answer"]
    [payload] = result["cloud_payloads"]
    assert payload["purpose"] == "sketch"
    assert payload["messages"][0]["content"].endswith("Write a short out-of-office reply")
    assert "Lisbon" not in json.dumps(payload)
    assert any("TP 1234" in text for text in result["context_used"])
    # the run's account of what it sent and the audit log agree, request for request
    audited = json.loads(cogenesis(home, "audit", "--user", "ana", "--json").stdout)
    sent = [row for row in audited if row["decision"] in SENT_DECISIONS]
    assert [row["purpose"] for row in sent] == [p["purpose"] for p in result["cloud_payloads"]]

    # streamed: progress while it waits for the cloud, then while the local model reads
    shown = cogenesis(
        home, "write", "--user", "ana", "--max-tokens", "8", "--sketch-tokens", "16",
        "Write a short out-of-office reply", cloud=standin.base_url, model=model_path,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    waits = [line for line in shown.stderr.splitlines() if line.startswith("... ")]
    assert waits[:2] == [
        "... waiting for the cloud's sketch (only the public instruction left this device)",
        "... the local model is reading its prompt",
    ]
    assert waits[2].startswith("... first token after ")
    assert "Sketch from the cloud (after " in shown.stdout

    local = cogenesis(
        home,
        "write",
        "--user",
        "ana",
        "--mode",
        "local",
        "--json",
        "--max-tokens",
        "8",
        "--thread-id",
        "ooo-1",
        "Write a short out-of-office reply",
        model=model_path,
    )
    assert local.returncode == 0, local.stderr
    assert json.loads(local.stdout)["cloud_payloads"] == []
    # the thread is checkpointed: running it again returns the stored answer
    again = cogenesis(
        home, "write", "--user", "ana", "--thread-id", "ooo-1", "ignored", model=model_path
    )
    assert again.returncode == 0, again.stderr
    assert "Thread ooo-1 has finished" in again.stdout
    assert json.loads(local.stdout)["answer"] in again.stdout

    deleted = cogenesis(home, "users", "delete", "ana", "--yes")
    assert deleted.returncode == 0
    assert json.loads(cogenesis(home, "users", "list", "--json").stdout) == []


def test_bad_input_exits_with_a_clear_message_and_keeps_the_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    good = tmp_path / "good.txt"
    good.write_text("Keep this note.", encoding="utf-8")
    assert cogenesis(home, "ingest", "--user", "ana", str(good)).returncode == 0

    latin = tmp_path / "latin.txt"
    latin.write_bytes("Crème brûlée".encode("latin-1"))
    failed = cogenesis(home, "ingest", "--user", "ana", str(good), str(latin))
    assert failed.returncode == 2
    assert "latin.txt is not UTF-8" in failed.stderr and "Traceback" not in failed.stderr

    unknown = cogenesis(home, "write", "--user", "ghost", "--mode", "local", "Write a note")
    assert unknown.returncode == 2
    assert "No private context is stored for user 'ghost'" in unknown.stderr

    empty = cogenesis(home, "write", "--user", "ana", "--mode", "local", "   ")
    assert empty.returncode == 2 and "empty" in empty.stderr

    # a cloud that cannot be reached: retried, then the local model writes alone
    down = cogenesis(
        home, "write", "--user", "ana", "--max-tokens", "8", "--allow-degraded", "Write a note",
        cloud="http://127.0.0.1:9/v1",
    )  # fmt: skip
    assert down.returncode == 0, down.stderr
    assert "Degraded: the cloud failed during sketch" in down.stdout
    assert "Cannot reach the cloud model" in down.stdout and "attempt 2 of 3" in down.stderr
    assert "Keep this note" not in down.stderr
    strict = cogenesis(
        home, "write", "--user", "ana", "Write a note",
        cloud="http://127.0.0.1:9/v1",
    )  # fmt: skip
    assert strict.returncode == 2
    assert "Cannot reach the cloud model" in strict.stderr and "Keep this note" not in strict.stderr

    not_store = tmp_path / "not-a-store"
    (not_store / "store").mkdir(parents=True)
    (not_store / "store" / "thesis.docx").write_bytes(b"precious")
    refused = cogenesis(not_store, "users", "list")
    assert refused.returncode == 2 and "no Chroma store" in refused.stderr

    # nothing stored was lost along the way
    assert json.loads(cogenesis(home, "users", "list", "--json").stdout) == [
        {"user_id": "ana", "chunks": 1}
    ]


def test_serve_cloud_runs_until_terminated(tmp_path: Path, model_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "COGENESIS_HOME": str(tmp_path), "COGENESIS_LOCAL_MODEL": str(model_path)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "langchain_cogenesis.cli",
            "serve-cloud",
            "--port",
            str(port),
            "--n-ctx",
            "512",
            "--fusion",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert f"serving at http://127.0.0.1:{port}/v1" in first
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5) as answer:
            assert answer.status == 200
        # --fusion: it answers log-probability requests (what mode fusion sends)
        scored = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/completions",
            data=json.dumps(
                {"prompt": "The garden", "max_tokens": 1, "logprobs": 3, "echo": True}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(scored, timeout=120) as answer:
            logprobs = json.loads(answer.read())["choices"][0]["logprobs"]
        assert len(logprobs["top_logprobs"][-1]) >= 3  # llama_cpp adds the sampled token
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_audit_command_lists_filters_and_verifies(tmp_path: Path) -> None:
    from langchain_cogenesis.privacy import AuditLog

    log = AuditLog(tmp_path / "audit.sqlite3")
    for user_id, decision in (("ana", "sent"), ("bo", "blocked"), ("ana", "redacted")):
        log.record(
            user_id=user_id,
            destination="http://127.0.0.1:9/v1",
            purpose="sketch",
            decision=decision,
            hits=[{"detector": "pii:email", "start": 0, "end": 3}],
            payload="<human>\nOutline a toast",
        )
    listed = cogenesis(tmp_path, "audit")
    assert listed.returncode == 0 and len(listed.stdout.strip().splitlines()) == 3
    assert "blocked" in listed.stdout and "pii:email" in listed.stdout
    only_ana = json.loads(cogenesis(tmp_path, "audit", "--user", "ana", "--json").stdout)
    assert [entry["decision"] for entry in only_ana] == ["sent", "redacted"]
    verified = cogenesis(tmp_path, "audit", "--verify")
    assert verified.returncode == 0 and "3 rows, intact" in verified.stdout
    with sqlite3.connect(log.path) as db:
        db.execute("UPDATE egress SET decision = 'sent' WHERE id = 2")
    tampered = cogenesis(tmp_path, "audit", "--verify")
    assert tampered.returncode == 1
    assert "TAMPERED" in tampered.stdout and "row 2 was modified" in tampered.stdout


def test_write_fusion_starts_a_logprob_standin(tmp_path: Path, model_path: Path) -> None:
    home = tmp_path / "home"
    notes = tmp_path / "note.md"
    notes.write_text("# Trip\nBooked flight TP 1234 to Lisbon, seat 14C.", encoding="utf-8")
    assert cogenesis(home, "ingest", "--user", "ana", str(notes)).returncode == 0
    trained = cogenesis(
        home,
        "train-combiner",
        "--dataset",
        "demo",
        "--out",
        str(tmp_path / "combiner"),
        "--max-target-tokens",
        "6",
        "--max-epochs",
        "2",
        "--dev-share",
        "0.34",
        model=model_path,
    )
    assert trained.returncode == 0, trained.stderr
    assert "dev NLL/token" in trained.stdout
    assert (tmp_path / "combiner" / "combiner.safetensors").stat().st_size > 40_000
    done = cogenesis(
        home,
        "write",
        "--user",
        "ana",
        "--mode",
        "fusion",
        "--first-k",
        "2",
        "--max-tokens",
        "4",
        "--json",
        "--private",
        "mention TP 1234",
        "--html",
        str(tmp_path / "tokens.html"),
        "--combiner",
        str(tmp_path / "combiner"),
        "Write an out-of-office reply",
        model=model_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["mode"] == "fusion" and result["cloud_skipped"] == ""
    fusion = result["fusion"]
    assert 1 <= fusion["cloud_requests"] <= 2 == fusion["first_k"]
    assert len(fusion["cloud_prompts"]) == fusion["cloud_requests"]
    assert all(
        "1234" not in prompt and "Lisbon" not in prompt for prompt in fusion["cloud_prompts"]
    )
    audit = json.loads(cogenesis(home, "audit", "--json").stdout)
    assert [e["purpose"] for e in audit].count("fusion-step") == fusion["cloud_requests"]
    assert {step["weight"] for step in fusion["trace"][:2]} != {0.5}  # the learned w, not mean
    page = (tmp_path / "tokens.html").read_text(encoding="utf-8")
    assert page.count('class="token"') == len(fusion["trace"]) > 0
