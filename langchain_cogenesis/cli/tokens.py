"""``cogenesis tokens``: bearer tokens for the served graphs, and checkpoint keys."""

from __future__ import annotations

import argparse
import time

from langchain_cogenesis.config import Settings


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``tokens issue|revoke|list|new-key``."""
    tokens = commands.add_parser(
        "tokens", help="bearer tokens for the served graphs (langgraph.json's auth)"
    )
    actions = tokens.add_subparsers(dest="tokens_command", required=True)
    issue = actions.add_parser("issue", help="issue a token for a user (shown once)")
    issue.add_argument("user_id", help="the user the token stands for")
    issue.add_argument(
        "--admin", action="store_true", help="the token may run the graphs for any user"
    )
    issue.add_argument(
        "--expires-days",
        type=float,
        default=None,
        help="days until it stops working (default never)",
    )
    revoke = actions.add_parser("revoke", help="revoke every token of a user")
    revoke.add_argument("user_id", help="the user whose tokens to revoke")
    actions.add_parser("list", help="the issued tokens (never the tokens themselves)")
    actions.add_parser("new-key", help="print a new key for COGENESIS_CHECKPOINT_KEY")
    for action in actions.choices.values():
        action.add_argument(
            "--file", default=None, help="the token file (default $COGENESIS_HOME/tokens.json)"
        )
    tokens.set_defaults(handler=cmd_tokens)


def cmd_tokens(args: argparse.Namespace, settings: Settings) -> int:
    """Issue, revoke or list tokens; or print a new checkpoint key."""
    from langchain_cogenesis.graphs.tokens import TokenFile, new_key

    if args.tokens_command == "new-key":
        print(new_key())
        return 0
    tokens = TokenFile(args.file)
    if args.tokens_command == "issue":
        days = args.expires_days
        token = tokens.issue(
            args.user_id, admin=args.admin, expires_in=days * 86400 if days else None
        )
        print(token)
        print(f"(for {args.user_id}; kept in {tokens.path} as a digest only: copy it now)")
        return 0
    if args.tokens_command == "revoke":
        count = tokens.revoke(args.user_id)
        print(f"revoked {count} token(s) of {args.user_id}")
        return 0 if count else 1
    for entry in tokens.entries():
        expires = entry.get("expires")
        until = time.strftime("%Y-%m-%d", time.gmtime(expires)) if expires else "never"
        role = "admin" if entry.get("permissions") else "user"
        print(f"{entry['user_id']}\t{role}\texpires {until}")
    return 0
