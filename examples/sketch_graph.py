"""Sketch-based CoGenesis from Python: store a user's private context, run the graph.

Run: python examples/sketch_graph.py  (starts the embedded stand-in cloud unless
COGENESIS_CLOUD_BASE_URL points at a real OpenAI-compatible endpoint).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from langchain_cogenesis import ChatLocalLlama, EgressGuard
from langchain_cogenesis.data import load_demo_users
from langchain_cogenesis.graphs import Components, run_sketch_graph
from langchain_cogenesis.models import cloud_endpoint
from langchain_cogenesis.retrievers import PrivateStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-tokens", type=int, default=200)
    args = parser.parse_args()

    user = load_demo_users()[1]  # Daniel, a physics teacher who coaches a robotics team
    with tempfile.TemporaryDirectory() as folder:
        store = PrivateStore(Path(folder) / "store")
        store.add_user_context(user.context)

        with cloud_endpoint() as (base_url, model, is_standin):
            components = Components(
                store=store,
                local_model=ChatLocalLlama(max_tokens=args.max_tokens),
                egress_guard=EgressGuard(
                    base_url=base_url, model=model, send_max_tokens=is_standin
                ),
                sketch_max_tokens=128,
            )
            task = user.tasks[0].instruction
            result = run_sketch_graph(
                components,
                {
                    "user_id": user.context.user_id,
                    "public_instruction": task.public_instruction,
                    "private_instruction": task.private_instruction,
                },
            )

    print("Sketch from the cloud:\n" + (result.sketch.text if result.sketch else "-"))
    print("\nAnswer written on the device:\n" + result.answer)
    print("\nSent to the cloud:")
    for payload in result.cloud_payloads:
        print(f"- {payload.purpose}: {payload.messages[-1]['content'][-120:]!r}")


if __name__ == "__main__":
    main()
