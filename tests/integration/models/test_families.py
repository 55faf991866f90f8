"""Two real model families, each through its own chat template: Gemma 3 270M (a base
model: the Gemma default template) and SmolLM2-135M-Instruct (ChatML from its GGUF).

Local-only, sketch and fusion run with one family on both sides; the router runs
with Gemma local and a SmolLM2 stand-in (a real ``llama_cpp.server``), whose real
tokenizer mismatch sends it down the sketch path. Generations are kept short.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langchain_cogenesis import prompts
from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.evaluation.echo import find_echo
from langchain_cogenesis.fusion import LlamaCppScorer
from langchain_cogenesis.graphs import Components, build_router_graph, run_sketch_graph
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud, smollm2_model_path
from langchain_cogenesis.privacy import EgressGuard
from langchain_cogenesis.retrievers import PrivateStore
from langchain_cogenesis.retrievers.loaders import user_context_documents
from tests.cloud_servers import RecordingServer

pytestmark = pytest.mark.integration

TOKENS = 16
TURN_END = {"gemma": "<end_of_turn>", "smollm2": "<|im_end|>"}


@pytest.fixture(scope="module")
def smollm2() -> Path:
    return smollm2_model_path()


@pytest.fixture(scope="module")
def smollm2_standin(smollm2: Path) -> Iterator[StandInCloud]:
    """SmolLM2 behind llama_cpp.server, started once, with completion log-probabilities
    (fusion) on a small window (its vocabulary is 49,152 tokens)."""
    with StandInCloud(smollm2, n_ctx=1024, logits_all=True) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def family_store(tmp_path_factory: pytest.TempPathFactory, demo_users: list[DatasetUser]) -> Any:
    store = PrivateStore(tmp_path_factory.mktemp("families") / "store")
    store.add_user_context(demo_users[0].context)
    return store


def gguf(family: str, model_path: Path, smollm2: Path) -> Path:
    return model_path if family == "gemma" else smollm2


def request_for(user: DatasetUser, mode: str) -> Any:
    task = user.tasks[0].instruction
    return {
        "user_id": user.context.user_id,
        "public_instruction": task.public_instruction,
        "private_instruction": task.private_instruction,
        "kind": task.kind,
        "mode": mode,
    }


def cloud_for(family: str, standin: StandInCloud, smollm2_standin: StandInCloud) -> StandInCloud:
    return standin if family == "gemma" else smollm2_standin


def assert_no_markers(answer: str) -> None:
    assert answer.strip()
    assert [e.text for e in find_echo(answer) if e.kind == "template-marker"] == []


@pytest.mark.parametrize("family", ["gemma", "smollm2"])
def test_each_family_speaks_its_own_template_and_stops_at_its_turn_end(
    family: str, model_path: Path, smollm2: Path
) -> None:
    local = ChatLocalLlama(model_path=gguf(family, model_path, smollm2), temperature=0.0)
    template = local.template()
    assert template.turn_end == TURN_END[family]
    prompt = template.render([HumanMessage("Hi")])
    assert ("<|im_start|>" in prompt) is (family == "smollm2")
    assert ("<start_of_turn>" in prompt) is (family == "gemma")
    if family == "smollm2":
        # an instruct model, prompted in its own format, ends its turn by itself
        reply = local.invoke("Name three vegetables, as a numbered list.", max_tokens=32)
        assert reply.response_metadata["finish_reason"] == "stop"
        assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] < 32
        assert "Carrot" in reply.text or "carrot" in reply.text
        assert_no_markers(reply.text)


@pytest.mark.parametrize("family", ["gemma", "smollm2"])
def test_local_only_with_each_family(
    family: str, model_path: Path, smollm2: Path, family_store: Any, demo_users: list[DatasetUser]
) -> None:
    components = Components(
        store=family_store,
        local_model=ChatLocalLlama(
            model_path=gguf(family, model_path, smollm2), max_tokens=TOKENS, seed=5
        ),
        k=1,
    )
    result = run_sketch_graph(components, request_for(demo_users[0], "local"))
    assert result.cloud_payloads == []
    assert_no_markers(result.answer)


@pytest.mark.parametrize("family", ["gemma", "smollm2"])
def test_sketch_with_each_family_on_both_sides(
    family: str,
    model_path: Path,
    smollm2: Path,
    standin: StandInCloud,
    smollm2_standin: StandInCloud,
    family_store: Any,
    demo_users: list[DatasetUser],
) -> None:
    cloud = cloud_for(family, standin, smollm2_standin)
    with RecordingServer(upstream=cloud.base_url) as recorder:
        components = Components(
            store=family_store,
            local_model=ChatLocalLlama(
                model_path=gguf(family, model_path, smollm2), max_tokens=TOKENS, seed=5
            ),
            egress_guard=EgressGuard(
                base_url=recorder.base_url, model=cloud.model, send_max_tokens=True, audit_log=None
            ),
            k=1,
            sketch_max_tokens=TOKENS,
        )
        result = run_sketch_graph(components, request_for(demo_users[0], "sketch"))
    assert result.sketch is not None and result.sketch.text.strip()
    assert [p.purpose for p in result.cloud_payloads] == ["sketch"]
    assert len(recorder.chat_requests) == 1
    assert_no_markers(result.answer)


@pytest.mark.parametrize("family", ["gemma", "smollm2"])
def test_fusion_with_each_family_on_both_sides(
    family: str,
    model_path: Path,
    smollm2: Path,
    smollm2_standin: StandInCloud,
    family_store: Any,
    demo_users: list[DatasetUser],
) -> None:
    path = gguf(family, model_path, smollm2)
    local = LlamaCppScorer(path, n_ctx=1024, name="local")
    parts: dict[str, Any] = {}
    if family == "gemma":  # Gemma's cloud side in this process (its server is covered elsewhere)
        parts["cloud_scorer"] = LlamaCppScorer(path, n_ctx=1024, name="cloud")
    else:  # SmolLM2's cloud side is the real server: a real tokenizer check, real logprobs
        parts["egress_guard"] = EgressGuard(
            base_url=smollm2_standin.base_url, model=smollm2_standin.model, audit_log=None
        )
    components = Components(
        store=family_store,
        local_model=ChatLocalLlama(model_path=path, max_tokens=TOKENS),
        local_scorer=local,
        fusion_max_tokens=8,
        first_k=3,
        k=1,
        **parts,
    )
    result = run_sketch_graph(components, request_for(demo_users[0], "fusion"))
    assert result.cloud_skipped == ""
    assert result.fusion is not None and result.fusion["cloud_tokens"] >= 1
    assert_no_markers(result.answer)
    if family == "smollm2":
        # what the server scored was the public prompt in SmolLM2's own template
        sent = result.fusion["cloud_prompts"][0]
        assert sent.startswith("<|im_start|>system\n") and "<start_of_turn>" not in sent
        assert demo_users[0].tasks[0].instruction.public_instruction in sent


def test_router_falls_back_to_sketches_on_a_real_tokenizer_mismatch(
    model_path: Path,
    smollm2_standin: StandInCloud,
    family_store: Any,
    demo_users: list[DatasetUser],
) -> None:
    """Gemma local, SmolLM2 cloud: llama_cpp.server's own tokenizer differs, so fusion
    cannot run; the router writes from a SmolLM2 sketch and says why."""
    with RecordingServer(upstream=smollm2_standin.base_url) as recorder:
        components = Components(
            store=family_store,
            local_model=ChatLocalLlama(model_path=model_path, max_tokens=TOKENS, seed=5),
            local_scorer=LlamaCppScorer(model_path, n_ctx=1024, name="local"),
            egress_guard=EgressGuard(
                base_url=recorder.base_url,
                model=smollm2_standin.model,
                send_max_tokens=True,
                audit_log=None,
            ),
            k=1,
            sketch_max_tokens=TOKENS,
            fusion_max_tokens=12,
        )
        result = run_sketch_graph(
            components, request_for(demo_users[0], "fusion"), graph=build_router_graph()
        )
        paths = [r["path"] for r in recorder.requests]
    assert "fell back to the sketch path" in result.cloud_skipped
    assert "tokeniz" in result.cloud_skipped.lower()
    assert not any(path.endswith("/v1/completions") for path in paths)  # nothing fused
    assert result.sketch is not None and result.sketch.text.strip()
    assert result.answer.strip()


def test_a_paused_stream_does_not_hold_up_another(model_path: Path) -> None:
    """The shared model's lock is held per token: while one consumer pauses, another
    stream on the same loaded model runs to the end; the paused one then finishes
    with the text it writes alone (its cache is brought back)."""
    first = ChatLocalLlama(model_path=model_path, max_tokens=10, temperature=0.0)
    second = ChatLocalLlama(model_path=model_path, max_tokens=10, temperature=0.0)
    assert first.shared() is second.shared()
    alone = first.invoke("Count from one to ten.").text

    paused = first.stream("Count from one to ten.")
    head = next(chunk.text for chunk in paused if chunk.text)  # then the consumer pauses
    other: list[str] = []
    runner = threading.Thread(
        target=lambda: other.extend(c.text for c in second.stream("Name a fruit."))
    )
    runner.start()
    runner.join(timeout=60)
    assert not runner.is_alive(), "the second stream waited on the paused one"
    assert "".join(other).strip()
    rest = "".join(chunk.text for chunk in paused)
    assert head + rest == alone


def test_the_demo_answer_reads_as_prose(
    model_path: Path, standin: StandInCloud, family_store: Any, demo_users: list[DatasetUser]
) -> None:
    """The demo's path (sketch graph, embedded models, the demo's k) on its first user:
    the answer must not copy profile lines, prompt headings, template markers or the
    sketch's datamarks. Shorter than the demo's lengths, with a fixed seed."""
    user = demo_users[0]
    components = Components(
        store=family_store,
        local_model=ChatLocalLlama(model_path=model_path, max_tokens=64, seed=1),
        egress_guard=EgressGuard(
            base_url=standin.base_url, model=standin.model, send_max_tokens=True, audit_log=None
        ),
        k=4,
        sketch_max_tokens=48,
    )
    result = run_sketch_graph(components, request_for(user, "sketch"))
    task = user.tasks[0].instruction
    sketch = result.sketch.text if result.sketch else ""
    prompt = prompts.writer_messages(
        task.kind, task.full_instruction, user_context_documents(user.context), sketch
    )
    assert find_echo(result.answer, [str(m.text) for m in prompt]) == []
