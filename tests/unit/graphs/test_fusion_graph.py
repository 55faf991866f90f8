"""Fusion mode in the graph: in-process and guarded remote cloud, gate, fallbacks."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_cogenesis.errors import TokenizerMismatch
from langchain_cogenesis.fusion import MaxCombiner
from langchain_cogenesis.graphs import build_fusion_graph, build_router_graph, run_sketch_graph
from langchain_cogenesis.privacy import EgressGuard
from tests.cloud_servers import RecordingServer
from tests.fusion_fakes import ScriptScorer, echo_script
from tests.unit.graphs.test_sketch_graph import REQUEST, make_components

SCRIPT = [
    " Dear",
    " neighbors,",
    " welcome",
    " to",
    " the",
    " garden",
    " Halvorsen",
    " built",
    " beds",
]


def fusion_components(server: RecordingServer | None, **kwargs: Any) -> Any:
    components = make_components(server, **kwargs)
    components.local_scorer = ScriptScorer(SCRIPT)
    if server is not None:
        server.tokenizer = lambda text: components.local_scorer.tokenize(text, add_bos=True)
    return components


def test_in_process_fusion_needs_no_guard_and_traces_each_token() -> None:
    components = fusion_components(None)
    components.cloud_scorer = components.local_scorer
    components.combiner = MaxCombiner()
    result = run_sketch_graph(components, {**REQUEST, "mode": "fusion"})
    assert result.answer.startswith("Dear neighbors, welcome to the garden")
    assert result.fusion is not None
    trace = result.fusion["trace"]
    assert [step["token"] for step in trace[:3]] == [" Dear", " neighbors,", " welcome"]
    assert all(step["cloud_top"] is not None for step in trace[:6])


def test_remote_fusion_goes_through_the_guard_and_stops_at_private_text() -> None:
    with RecordingServer() as server:
        components = fusion_components(server)
        components.egress_guard = EgressGuard(base_url=server.base_url, model="fake", max_retries=0)
        result = run_sketch_graph(components, {**REQUEST, "mode": "fusion"})
        prompts = [
            r["body"]["prompt"] for r in server.requests if r["path"].endswith("/v1/completions")
        ]
    assert result.answer == "Dear neighbors, welcome to the garden Halvorsen built beds"
    fusion = result.fusion
    assert fusion is not None
    assert fusion["cloud_stopped_at"] == 7  # " Halvorsen" is private: the gate closed there
    assert fusion["cloud_requests"] == len(prompts) == 7  # steps 0-6
    assert all("Halvorsen" not in prompt and "1,840" not in prompt for prompt in prompts)
    assert prompts[-1].endswith("Dear neighbors, welcome to the garden")
    assert all(
        body["body"]["max_tokens"] == 1 for body in server.requests if "prompt" in body["body"]
    )


def test_first_k_limits_the_cloud_requests() -> None:
    with RecordingServer() as server:
        components = fusion_components(server, first_k=2)
        components.egress_guard = EgressGuard(base_url=server.base_url, model="fake", max_retries=0)
        result = run_sketch_graph(components, {**REQUEST, "mode": "fusion"})
    assert result.fusion is not None and result.fusion["cloud_requests"] == 2
    assert result.fusion["cloud_tokens"] == 2


def test_tokenizer_mismatch_falls_back_to_the_sketch_path() -> None:
    with RecordingServer(reply="1. Welcome") as server:
        components = fusion_components(server)
        server.tokenizer = lambda text: [1, 2, 3]  # a different tokenizer
        result = run_sketch_graph(components, {**REQUEST, "mode": "fusion"})
    assert "fell back to the sketch path" in result.cloud_skipped
    assert "differently" in result.cloud_skipped
    assert result.sketch is not None and result.answer == "Dear neighbors, welcome."


def test_missing_logprobs_fall_back_to_the_sketch_path() -> None:
    with RecordingServer(reply="1. Welcome") as server:
        components = fusion_components(server)
        server.top_logprobs = {}
        result = run_sketch_graph(components, {**REQUEST, "mode": "fusion"})
    assert "no log-probabilities" in result.cloud_skipped
    assert result.sketch is not None


def test_sloppy_public_part_is_redacted_before_fusion() -> None:
    with RecordingServer() as server:
        components = fusion_components(server)
        sloppy = {**REQUEST, "public_instruction": "Write to maya@example.org", "mode": "fusion"}
        result = run_sketch_graph(components, sloppy)
        wire = server.all_bytes().decode()
    assert "maya@example.org" not in wire and "example.org" not in wire
    assert result.fusion is not None and result.fusion["cloud_requests"] > 0


def test_the_fusion_graph_raises_and_the_router_graph_falls_back() -> None:
    with RecordingServer(reply="1. Welcome") as server:
        components = fusion_components(server)
        server.tokenizer = lambda text: [1, 2, 3]  # a different tokenizer
        with pytest.raises(TokenizerMismatch, match="differently"):
            run_sketch_graph(components, REQUEST, graph=build_fusion_graph())
        routed = run_sketch_graph(components, REQUEST, graph=build_router_graph())
    assert "fell back to the sketch path" in routed.cloud_skipped
    assert routed.sketch is not None and routed.answer == "Dear neighbors, welcome."
    assert routed.fusion is None


def test_router_graph_fuses_when_it_can_and_drafting_saves_requests() -> None:
    answers = {}
    for draft in (0, 4):
        with RecordingServer() as server:
            components = fusion_components(server, fusion_draft=draft)
            components.egress_guard = EgressGuard(
                base_url=server.base_url, model="fake", max_retries=0
            )
            server.logprobs_for = echo_script(components.local_scorer)
            answers[draft] = run_sketch_graph(components, REQUEST, graph=build_router_graph())
    plain, drafted = answers[0], answers[4]
    assert plain.fusion is not None and drafted.fusion is not None
    assert drafted.answer == plain.answer
    assert plain.answer.startswith("Dear neighbors, welcome to the garden")
    assert plain.fusion["cloud_requests"] == 7  # one per token until the gate closes
    assert drafted.fusion["cloud_requests"] < 7
    assert drafted.fusion["accepted"] >= 4
    assert drafted.fusion["cloud_stopped_at"] == plain.fusion["cloud_stopped_at"] == 7
    assert all("Halvorsen" not in prompt for prompt in drafted.fusion["cloud_prompts"])
