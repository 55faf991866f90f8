"""LangGraph graphs of CoGenesis. Installed as ``langchain_cogenesis.graphs``.

The public surface: the graphs, their runners, the chat model and agent pieces. The
checkpointers are in :mod:`~langchain_cogenesis.graphs.checkpointers`.
"""

from langchain_cogenesis.graphs.agents import cogenesis_tool
from langchain_cogenesis.graphs.auto import build_auto_graph
from langchain_cogenesis.graphs.chat_model import ChatCoGenesis
from langchain_cogenesis.graphs.fusion import build_fusion_graph
from langchain_cogenesis.graphs.middleware import PrivacyMiddleware
from langchain_cogenesis.graphs.router import build_router_graph
from langchain_cogenesis.graphs.sketch import (
    build_sketch_graph,
    private_run,
    result_from_state,
    resume_sketch_graph,
    run_sketch_graph,
    stream_sketch_graph,
)
from langchain_cogenesis.graphs.state import Components, WritingInput, WritingState

__all__ = [
    "ChatCoGenesis",
    "Components",
    "PrivacyMiddleware",
    "WritingInput",
    "WritingState",
    "build_auto_graph",
    "build_fusion_graph",
    "build_router_graph",
    "build_sketch_graph",
    "cogenesis_tool",
    "private_run",
    "result_from_state",
    "resume_sketch_graph",
    "run_sketch_graph",
    "stream_sketch_graph",
]
