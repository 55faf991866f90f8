"""``cogenesis demo``: store the fictional demo users and write for one of them."""

from __future__ import annotations

import argparse
import sys

from langchain_cogenesis.cli.store import open_store
from langchain_cogenesis.cli.write import RULE, generation_options, print_payloads, run_writing
from langchain_cogenesis.config import Settings


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``demo``."""
    demo = commands.add_parser("demo", help="run sketch-based CoGenesis for a demo user")
    demo.add_argument("--user", default="maya-okafor", help="the demo user to write for")
    demo.add_argument("--task", type=int, default=0, help="which of the user's demo tasks")
    generation_options(demo, 320)
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Store the demo users, start the stand-in, run the sketch graph, show egress."""
    from langchain_cogenesis.data import load_demo_users

    users = load_demo_users()
    by_id = {user.context.user_id: user for user in users}
    if args.user not in by_id:
        print(f"error: no demo user {args.user!r}; choose from {', '.join(by_id)}", file=sys.stderr)
        return 2
    store = open_store(settings)
    print(f"Private store: {store.location}")
    for user in users:
        chunks = store.add_user_context(user.context)
        print(f"  stored {chunks} private chunks for {user.context.user_id}")
    user = by_id[args.user]
    task = user.tasks[args.task % len(user.tasks)].instruction
    print(f"\nUser: {user.context.profile.name} ({user.context.user_id})\n")
    result = run_writing(
        settings,
        user_id=args.user,
        public_instruction=task.public_instruction,
        private_instruction=task.private_instruction,
        kind=task.kind,
        mode="sketch",
        answer_tokens=args.max_tokens,
        sketch_tokens=args.sketch_tokens,
        k=args.k,
        seed=args.seed,
        allow_private_egress=False,
        stream=True,
    )
    print_payloads(result)
    timings = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in result.timings.items())
    print(f"\n{RULE}\nTimings: {timings}")
    return 0
