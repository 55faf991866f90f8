"""CoGenesis as one step of an LCEL chain: prompt | ChatCoGenesis | parser.

The chain's caller names the user in the run config; their private context is read
from the local store and never leaves the device. Uses the cloud in
COGENESIS_CLOUD_BASE_URL, or starts the embedded stand-in.

Run: python examples/chain_with_cogenesis.py
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_cogenesis import ChatLocalLlama, EgressGuard
from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.graphs import ChatCoGenesis
from langchain_cogenesis.models import cloud_endpoint
from langchain_cogenesis.retrievers import PrivateStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-tokens", type=int, default=160)
    args = parser.parse_args()

    user = load_demo_users()[0]  # Maya, who runs a community garden
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
        chain = (
            ChatPromptTemplate.from_messages([("human", "Write {kind} about {topic}")])
            | writer
            | StrOutputParser()
        )
        answer = chain.invoke(
            {"kind": "a short welcome note", "topic": "the garden's open day"},
            config={"configurable": {"user_id": user.context.user_id}},
        )
        print(f"Answer written on the device:\n{answer}\n")
        sent = writer.egress_guard.history
        print(f"Sent to the cloud ({len(sent)} request(s)):")
        for payload in sent:
            for message in payload.messages:
                print(f"  [{message['role']}] {message['content'][-160:]}")


if __name__ == "__main__":
    main()
