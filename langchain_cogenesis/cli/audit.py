"""``cogenesis audit``: the egress audit log, shown or verified."""

from __future__ import annotations

import argparse
import json

from langchain_cogenesis.config import Settings


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``audit``."""
    audit = commands.add_parser("audit", help="show or verify the egress audit log")
    audit.add_argument("--user", default=None, help="only this user's attempts")
    audit.add_argument("--json", action="store_true", help="print one JSON object per row")
    audit.add_argument("--verify", action="store_true", help="check the hash chain")
    audit.set_defaults(handler=cmd_audit)


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    """Show the egress audit log, or verify its hash chain."""
    from langchain_cogenesis.privacy import AuditLog

    log = AuditLog(settings.home / "audit.sqlite3")
    if args.verify:
        report = log.verify()
        if args.json:
            print(report.model_dump_json(indent=2))
        else:
            state = "intact" if report.ok else "TAMPERED"
            print(f"Audit log {log.path}: {report.rows} rows, {state}.")
            for problem in report.problems:
                print(f"  - {problem}")
        return 0 if report.ok else 1
    entries = log.entries(args.user)
    if args.json:
        print(json.dumps([entry.model_dump() for entry in entries], indent=2))
        return 0
    for entry in entries:
        detectors = sorted({hit["detector"] for hit in entry.hits})
        print(
            f"{entry.id:>5}  {entry.time}  {entry.user_id or '-'}  {entry.purpose}  "
            f"{entry.decision}  {entry.destination}  hits: {', '.join(detectors) or 'none'}"
        )
    if not entries:
        print("No egress attempts recorded.")
    return 0
