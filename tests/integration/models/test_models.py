"""The real local model (Gemma 3 270M in llama.cpp) and the real stand-in server."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_cogenesis.errors import CloudUnavailable, LocalModelError
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud
from langchain_cogenesis.models.local import _to_llama_messages
from langchain_cogenesis.privacy import EgressGuard
from tests.cloud_servers import RecordingServer

pytestmark = pytest.mark.integration


def test_bundled_gguf_is_assembled_and_verified(model_path: Path) -> None:
    assert model_path.name.endswith(".gguf")
    assert model_path.stat().st_size > 100 * 2**20
    with model_path.open("rb") as gguf:
        assert gguf.read(4) == b"GGUF"


def test_local_model_generates_within_its_bound(model_path: Path) -> None:
    local_model = ChatLocalLlama(model_path=model_path, max_tokens=12, temperature=0.0)
    reply = local_model.invoke([HumanMessage("List three vegetables for a small garden.")])
    assert reply.text.strip()
    assert reply.usage_metadata is not None
    assert 0 < reply.usage_metadata["output_tokens"] <= 12
    assert reply.usage_metadata["input_tokens"] > 5
    again = local_model.invoke([HumanMessage("List three vegetables for a small garden.")])
    assert again.text == reply.text  # greedy decoding is deterministic


def test_local_model_streams_tokens(model_path: Path) -> None:
    local_model = ChatLocalLlama(model_path=model_path, max_tokens=16, seed=3)
    chunks = list(local_model.stream("Write one sentence about rain."))
    texts = [c.text for c in chunks if c.text]
    assert len(texts) >= 3
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.response_metadata.get("finish_reason") in {"length", "stop"}
    assert merged.text == "".join(texts)


def test_weights_load_once_and_are_shared(model_path: Path) -> None:
    first = ChatLocalLlama(model_path=model_path, max_tokens=4)
    second = ChatLocalLlama(model_path=model_path, max_tokens=8, temperature=0.0)
    assert first.shared() is second.shared()
    assert first.shared().llama.n_vocab() == 262_144


def test_system_prompt_is_folded_into_the_first_user_turn() -> None:
    converted = _to_llama_messages([SystemMessage("Be kind."), HumanMessage("Hello")])
    assert converted == [{"role": "user", "content": "Be kind.\n\nHello"}]


def test_missing_or_invalid_gguf_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match="does not exist"):
        ChatLocalLlama(model_path=tmp_path / "nope.gguf").invoke("hi")
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    with pytest.raises(LocalModelError, match="GGUF"):
        ChatLocalLlama(model_path=fake).invoke("hi")


def test_prompt_beyond_the_window_is_a_typed_error(model_path: Path) -> None:
    local_model = ChatLocalLlama(model_path=model_path, n_ctx=256, max_tokens=8)
    with pytest.raises(LocalModelError, match="smaller k"):
        local_model.invoke("garden " * 400)


def test_standin_is_a_real_openai_compatible_server(standin: StandInCloud) -> None:
    assert standin.running and standin.healthy()
    with urllib.request.urlopen(f"{standin.base_url}/models", timeout=5) as answer:
        assert b"cogenesis-standin" in answer.read()


@pytest.mark.parametrize("send_max_tokens", [False, True])
def test_output_bound_holds_against_the_standin(
    standin: StandInCloud, model_path: Path, send_max_tokens: bool
) -> None:
    # llama_cpp.server ignores max_completion_tokens (what langchain-openai sends);
    # the guard bounds the output either by streaming cut-off or by the legacy field.
    with RecordingServer(upstream=standin.base_url) as recorder:
        guard = EgressGuard(
            base_url=recorder.base_url, model=standin.model, send_max_tokens=send_max_tokens
        )
        text, payload, _ = guard.chat(
            [HumanMessage("Write a very long story about a garden that never ends.")],
            purpose="test",
            max_tokens=20,
            temperature=0.0,
        )
        body = recorder.chat_requests[0]["body"]
    tokens = (
        ChatLocalLlama(model_path=model_path).shared().llama.tokenize(text.encode(), add_bos=False)
    )
    assert 0 < len(tokens) <= 22
    assert recorder.chunks_sent <= 25
    assert body["max_completion_tokens"] == 20
    assert ("max_tokens" in body) is send_max_tokens
    assert payload.response == text


def test_standin_start_failure_is_a_typed_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF but not really")
    with pytest.raises(CloudUnavailable, match="exited during start-up"):
        StandInCloud(broken, log_path=tmp_path / "log.txt", startup_timeout=60).start()


def test_standin_stops_cleanly(model_path: Path, tmp_path: Path) -> None:
    cloud = StandInCloud(model_path, n_ctx=512, log_path=tmp_path / "s.log")
    with cloud:
        assert cloud.healthy()
    assert not cloud.running
    assert not cloud.healthy()


def test_the_standin_dies_with_a_killed_caller(tmp_path: Path, model_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import sys, time\n"
        "from langchain_cogenesis.models import StandInCloud\n"
        f"cloud = StandInCloud({str(model_path)!r}, n_ctx=256).start()\n"
        "print(cloud._process.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, "COGENESIS_HOME": str(tmp_path)}
    caller = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    assert caller.stdout is not None
    server_pid = int(caller.stdout.readline())
    os.kill(caller.pid, signal.SIGKILL)
    caller.wait()
    for _ in range(100):
        try:
            os.kill(server_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(server_pid, signal.SIGKILL)
        raise AssertionError("the stand-in outlived its killed caller")
