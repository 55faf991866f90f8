"""The first token shows as soon as it exists: fused tokens on LangGraph's custom
stream, and the CLI's progress lines while it waits."""

from __future__ import annotations

import uuid

from langchain_cogenesis.fusion import MaxCombiner
from langchain_cogenesis.graphs import build_sketch_graph, stream_sketch_graph
from langchain_cogenesis.graphs.fusion import build_fusion_graph
from tests.unit.graphs.test_fusion_graph import fusion_components
from tests.unit.graphs.test_sketch_graph import REQUEST


def test_fused_tokens_stream_as_they_are_decoded() -> None:
    components = fusion_components(None)
    components.cloud_scorer = components.local_scorer
    components.combiner = MaxCombiner()
    graph = build_fusion_graph()
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    events = list(
        stream_sketch_graph(
            components,
            {**REQUEST, "mode": "fusion"},
            graph=graph,
            config=config,  # type: ignore[arg-type]
            stream_mode=("custom", "updates"),
        )
    )
    pieces = [event["fused_token"] for mode, event in events if mode == "custom"]
    answer = graph.get_state(config).values["answer"]  # type: ignore[arg-type]
    assert len(pieces) > 3  # token by token, not the answer at the end
    assert "".join(pieces).strip() == answer
    # every piece came before the fuse step's update
    modes = [mode for mode, _ in events]
    fuse_update = next(i for i, (m, e) in enumerate(events) if m == "updates" and "fuse" in e)
    assert max(i for i, m in enumerate(modes) if m == "custom") < fuse_update


def test_the_sketch_graph_streams_nothing_custom() -> None:
    from tests.cloud_servers import RecordingServer
    from tests.unit.graphs.test_sketch_graph import make_components

    with RecordingServer(reply="1. Intro") as server:
        graph = build_sketch_graph()
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        events = list(
            stream_sketch_graph(
                make_components(server),
                {**REQUEST, "mode": "sketch"},
                graph=graph,
                config=config,  # type: ignore[arg-type]
                stream_mode=("custom", "updates"),
            )
        )
    assert [mode for mode, _ in events if mode == "custom"] == []
    assert any("write" in event for mode, event in events if mode == "updates")
