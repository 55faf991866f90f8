"""Fused decoding with real llama.cpp scorers (Gemma 3 270M in both roles)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langchain_cogenesis.data import DatasetUser
from langchain_cogenesis.fusion import (
    LlamaCppScorer,
    MeanCombiner,
    RemoteCompletionScorer,
    fused_generate,
)
from langchain_cogenesis.graphs import Components, run_sketch_graph
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud
from langchain_cogenesis.privacy import EgressGuard, PrivacyScanner
from langchain_cogenesis.retrievers import PrivateStore
from tests.cloud_servers import RecordingServer

pytestmark = pytest.mark.integration

TURN = "<start_of_turn>user\n{}<end_of_turn>\n<start_of_turn>model\n"


@pytest.fixture(scope="module")
def scorers(model_path: Path) -> tuple[LlamaCppScorer, LlamaCppScorer]:
    return (
        LlamaCppScorer(model_path, n_ctx=1024, name="local"),
        LlamaCppScorer(model_path, n_ctx=1024, name="cloud"),
    )


def test_scorer_reads_real_logits_and_reuses_its_cache(
    scorers: tuple[LlamaCppScorer, LlamaCppScorer],
) -> None:
    local, _ = scorers
    prompt = local.tokenize("The capital of France is", add_bos=True)
    top = local.next_top_k(prompt, 10)
    assert local.vocab_size() == 262_144
    assert len(top.ids) == 10 and np.all(np.diff(top.logprobs) <= 0)
    assert np.all(top.logprobs < 0) and np.exp(top.logprobs).sum() <= 1.0 + 1e-6
    assert " Paris" in [local.detokenize([int(i)]) for i in top.ids[:3]]
    # same prefix again (cache reuse) and after extending and rewinding: same answer
    again = local.next_top_k(prompt, 10)
    assert again.ids.tolist() == top.ids.tolist()
    local.next_top_k([*prompt, int(top.ids[0])], 10)
    rewound = local.next_top_k(prompt, 10)
    assert rewound.ids.tolist() == top.ids.tolist()
    assert np.allclose(rewound.logprobs, top.logprobs, atol=1e-3)


def test_fused_greedy_decoding_without_cloud_matches_llama_greedy(
    scorers: tuple[LlamaCppScorer, LlamaCppScorer], model_path: Path
) -> None:
    local, _ = scorers
    prompt = local.tokenize("Three fruits that grow on trees:", add_bos=True)
    ours = fused_generate(local, None, prompt, prompt, MeanCombiner(), max_tokens=8)
    llama = local.llama
    reference = llama.create_completion(
        "Three fruits that grow on trees:", max_tokens=8, temperature=0.0, top_k=1
    )
    assert ours.text == reference["choices"][0]["text"]  # type: ignore[index]


def test_fusion_with_both_models_in_process(
    scorers: tuple[LlamaCppScorer, LlamaCppScorer],
) -> None:
    local, cloud = scorers
    local_prompt = local.tokenize(
        "Maya grows tomatoes in Millbrook. Write a garden tip:", add_bos=True
    )
    cloud_prompt = cloud.tokenize("Write a garden tip:", add_bos=True)
    result = fused_generate(
        local, cloud, local_prompt, cloud_prompt, MeanCombiner(), max_tokens=10, first_k=4
    )
    assert len(result.token_ids) == 10
    assert result.cloud_tokens == 4
    assert [t.cloud_top is not None for t in result.trace] == [True] * 4 + [False] * 6
    assert all(t.weight == 0.5 for t in result.trace[:4])
    assert result.text == local.detokenize(result.token_ids)


def test_fusion_through_the_real_standin_server(
    model_path: Path, tmp_path: Path, demo_users: list[DatasetUser]
) -> None:
    """Remote fusion: llama_cpp.server scores prefixes; requests pass the guard."""
    store = PrivateStore(tmp_path / "store")
    store.add_user_context(demo_users[0].context)
    local = LlamaCppScorer(model_path, n_ctx=2048, name="local")
    with (
        StandInCloud(model_path, n_ctx=512, logits_all=True) as cloud,
        RecordingServer(upstream=cloud.base_url) as recorder,
    ):
        guard = EgressGuard(base_url=recorder.base_url, model=cloud.model, audit_log=None)
        components = Components(
            store=store,
            local_model=ChatLocalLlama(model_path=model_path, max_tokens=8),
            egress_guard=guard,
            local_scorer=local,
            fusion_max_tokens=6,
            first_k=3,
            k=2,
        )
        task = demo_users[0].tasks[0].instruction
        result = run_sketch_graph(
            components,
            {
                "user_id": "maya-okafor",
                "public_instruction": task.public_instruction,
                "private_instruction": task.private_instruction,
                "mode": "fusion",
            },
        )
        completions = [
            r["body"] for r in recorder.requests if r["path"].endswith("/v1/completions")
        ]
    assert result.cloud_skipped == ""
    assert result.fusion is not None and result.fusion["cloud_tokens"] >= 1
    assert len(completions) == result.fusion["cloud_requests"] <= 3
    assert all(body["max_tokens"] == 1 and body["logprobs"] == 10 for body in completions)
    assert all("Halvorsen" not in body["prompt"] for body in completions)
    assert task.public_instruction in completions[0]["prompt"]
    assert result.answer


def test_drafting_with_real_models_writes_what_per_token_fusion_writes(model_path: Path) -> None:
    """In-process and against llama_cpp.server's echo: same tokens, fewer requests.

    Fresh scorers per run, one token per evaluation: llama.cpp's logits differ in the
    last digits between a token evaluated alone and inside a batch, so both runs do the
    same arithmetic. The stand-in evaluates echoed prompts in batches; the test keeps
    its run short, where no near tie is met.
    """

    def fresh(name: str) -> LlamaCppScorer:
        # one token per evaluation, as per-token decoding does: the same arithmetic
        return LlamaCppScorer(model_path, n_ctx=512, name=name, batch_positions=False)

    local = fresh("local")
    local_prompt = local.tokenize(
        TURN.format("Maya runs a garden. Write a garden tip."), add_bos=True
    )
    cloud_prompt = local.tokenize(TURN.format("Write a garden tip."), add_bos=True)
    runs = {
        draft: fused_generate(
            fresh("local"), fresh("cloud"), local_prompt, cloud_prompt, MeanCombiner(),
            max_tokens=12, draft=draft,
        )
        for draft in (0, 4)
    }  # fmt: skip
    assert runs[4].token_ids == runs[0].token_ids
    assert runs[4].cloud_requests < runs[0].cloud_requests == 12

    over_http = {}
    with StandInCloud(model_path, n_ctx=512, logits_all=True) as server:
        guard = EgressGuard(base_url=server.base_url, model=server.model, audit_log=None)
        bos = local.tokenize("", add_bos=True)
        for draft in (0, 3):
            # an equivalence test: the entity recognizer's reading of a draft (which
            # changes as it grows) would block some drafts and not their tokens
            scanner = PrivacyScanner(detect_entities=False)
            remote = RemoteCompletionScorer(guard, local, skip_ids=bos, scanner=scanner)
            over_http[draft] = fused_generate(
                fresh("local"), remote, local_prompt, cloud_prompt, MeanCombiner(),
                max_tokens=6, draft=draft,
            )  # fmt: skip
            assert remote.requests == over_http[draft].cloud_requests
        assert remote.echo_supported
    assert over_http[3].token_ids == over_http[0].token_ids
    assert over_http[3].cloud_requests < over_http[0].cloud_requests == 6
    assert over_http[3].accepted >= 2


def test_fusion_chat_model_takes_a_system_prompt_and_history(model_path: Path) -> None:
    """ChatCoGenesisFusion in a prompt template with a system message and a history,
    real models on both sides: the local scorer reads every turn and the private
    context; the cloud scores the public turns, and never the private context."""
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

    from langchain_cogenesis.fusion import ChatCoGenesisFusion

    private = "Odalys Pemberton lives at 42 Wrenfield Lane and keeps bees."
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Always answer in one short sentence, in French."),
            MessagesPlaceholder("history"),
            ("human", "{question}"),
        ]
    )
    history = [HumanMessage("Hello there."), AIMessage("Bonjour !")]
    with (
        StandInCloud(model_path, n_ctx=512, logits_all=True) as cloud,
        RecordingServer(upstream=cloud.base_url) as recorder,
    ):
        guard = EgressGuard(base_url=recorder.base_url, model=cloud.model, audit_log=None)
        model = ChatCoGenesisFusion(
            egress_guard=guard,
            private_context=[private],
            max_tokens=6,
            draft=3,
            local_model_path=model_path,
            n_ctx=1024,
        )
        reply = (prompt | model).invoke({"history": history, "question": "Write a greeting."})
        prompts = [
            str(r["body"]["prompt"])
            for r in recorder.requests
            if r["path"].endswith("/v1/completions")
        ]
        wire = recorder.all_bytes().decode()
    assert reply.content and prompts
    # every public turn reached the cloud, in order: system, history, question
    first = prompts[0]
    positions = [first.find(text) for text in ("in French", "Hello there.", "Bonjour", "greeting")]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), first
    for secret in ("Pemberton", "Wrenfield", "bees"):
        assert secret not in wire
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] >= 1
