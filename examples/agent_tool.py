"""CoGenesis in an existing agent: a "write privately" tool and the privacy middleware.

The agent's own model is a cloud model. Set AGENT_BASE_URL / AGENT_MODEL /
AGENT_API_KEY to use a real tool-calling one (any OpenAI-compatible endpoint);
without them a scripted model plays the agent so the example runs offline. Either
way the agent's model is only given the instruction: the personalized text goes to
the user directly, and the middleware redacts private context from anything else the
agent would send.

Run: python examples/agent_tool.py
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from langchain_cogenesis import ChatLocalLlama, EgressGuard
from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.graphs import ChatCoGenesis, PrivacyMiddleware, cogenesis_tool
from langchain_cogenesis.models import cloud_endpoint
from langchain_cogenesis.retrievers import PrivateStore


class ScriptedAgentModel(BaseChatModel):
    """Plays a tool-calling cloud model: asks for the tool, then records what it saw."""

    seen: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted-agent"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedAgentModel:
        return self

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        self.seen.extend(str(m.text) for m in messages)
        call = {
            "name": "write_privately",
            "args": {"instruction": "Write a short welcome speech for a harvest festival"},
            "id": "call-1",
        }
        return ChatResult(generations=[ChatGeneration(message=AIMessage("", tool_calls=[call]))])


def agent_model() -> BaseChatModel:
    if os.environ.get("AGENT_BASE_URL"):
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=os.environ["AGENT_BASE_URL"],
            model=os.environ.get("AGENT_MODEL", "gpt-4o-mini"),
            api_key=os.environ.get("AGENT_API_KEY", "none"),  # type: ignore[arg-type]
        )
    return ScriptedAgentModel()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-tokens", type=int, default=160)
    args = parser.parse_args()

    user = load_demo_users()[0]
    with tempfile.TemporaryDirectory() as folder, cloud_endpoint(n_ctx=2048) as cloud:
        base_url, model, is_standin = cloud
        store = PrivateStore(Path(folder) / "store")
        store.add_user_context(user.context)
        writer = ChatCoGenesis(
            store=store,
            local_model=ChatLocalLlama(max_tokens=args.max_tokens, seed=1),
            egress_guard=EgressGuard(
                base_url=base_url, model=model, send_max_tokens=is_standin, audit_log=None
            ),
            max_tokens=args.max_tokens,
            sketch_max_tokens=args.max_tokens,
        )
        brain = agent_model()
        privacy = PrivacyMiddleware(store=store, user_id=user.context.user_id)
        agent = create_agent(
            brain,
            # privacy=: values the middleware restores on the device stay out of the
            # tool's own cloud request too
            tools=[cogenesis_tool(writer, privacy=privacy)],
            middleware=[privacy],
        )
        state = agent.invoke(
            {"messages": [{"role": "user", "content": "Please write my festival speech."}]}
        )
    print(f"To the user (written on the device):\n{state['messages'][-1].content}\n")
    if isinstance(brain, ScriptedAgentModel):
        print("The agent's model read:")
        for text in brain.seen:
            print(f"  {text}")


if __name__ == "__main__":
    main()
