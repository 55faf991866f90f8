"""The ``cogenesis`` command. Thin: it parses, calls the library, and prints."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import CoGenesisError, InvalidInstruction, UnknownUser
from langchain_cogenesis.schema import WritingResult

if TYPE_CHECKING:
    from langchain_cogenesis.graphs import WritingInput

RULE = "─" * 72


def _store(settings: Settings) -> Any:
    from langchain_cogenesis.privacy import AuditLog
    from langchain_cogenesis.retrievers import PrivateStore

    return PrivateStore(
        settings.store_path,
        chroma_url=settings.chroma_url,
        allow_remote_store=settings.allow_remote_store,
        audit_log=AuditLog(settings.home / "audit.sqlite3") if settings.chroma_url else None,
    )


def _print_payloads(result: WritingResult) -> None:
    fusion_prompts = (result.fusion or {}).get("cloud_prompts", [])
    total = len(result.cloud_payloads) + len(fusion_prompts)
    print(f"\n{RULE}\nSent to the cloud ({total} request(s)):")
    if fusion_prompts:
        print(
            f"\n{len(fusion_prompts)} completion request(s) for fused decoding, each the public "
            "prompt plus the prefix generated so far; the last one:"
        )
        for line in fusion_prompts[-1].splitlines():
            print(f"    {line}")
    if not total:
        print("  nothing: this answer was written on the device only.")
    for number, payload in enumerate(result.cloud_payloads, 1):
        print(f"\n[{number}] {payload.purpose} → {payload.destination} (model {payload.model})")
        for message in payload.messages:
            print(f"  <{message['role']}>")
            for line in message["content"].splitlines():
                print(f"    {line}")


def _run(
    settings: Settings,
    *,
    user_id: str,
    public_instruction: str,
    private_instruction: str | None,
    kind: str,
    mode: str,
    answer_tokens: int,
    sketch_tokens: int,
    k: int,
    seed: int | None,
    allow_private_egress: bool,
    stream: bool,
    policy: str | None = None,
    first_k: int | None = None,
    combiner: Any = None,
    draft: int = 0,
    thread_id: str | None = None,
    degrade: bool = True,
    lora: Path | None = None,
) -> WritingResult:
    """Run the sketch graph; ``private_instruction=None`` splits the instruction locally.

    With ``thread_id`` every step is checkpointed to ``$COGENESIS_HOME/threads.sqlite3``;
    a thread that stopped mid-way (a crash, Ctrl-C) resumes where it stopped, and a
    finished one prints its stored result.
    """
    from langchain_cogenesis.graphs import (
        Components,
        build_sketch_graph,
        private_run,
        result_from_state,
        sqlite_checkpointer,
    )
    from langchain_cogenesis.graphs.nodes import instruction_of
    from langchain_cogenesis.models import ChatLocalLlama, cloud_endpoint
    from langchain_cogenesis.privacy import EgressGuard

    store = _store(settings)
    local_model = ChatLocalLlama(
        model_path=settings.local_model_path,
        lora_path=lora or settings.local_lora_path,
        max_tokens=answer_tokens,
        seed=seed,
    )
    parts_given: dict[str, str] = (
        {"instruction": public_instruction}
        if private_instruction is None
        else {"public_instruction": public_instruction, "private_instruction": private_instruction}
    )
    request: WritingInput | None = cast(
        "WritingInput", {"user_id": user_id, "kind": kind, "mode": mode, **parts_given}
    )
    graph = build_sketch_graph(
        checkpointer=sqlite_checkpointer(settings.home / "threads.sqlite3")
        if thread_id
        else "memory"
    )
    config: Any = {"configurable": {"thread_id": thread_id or uuid.uuid4().hex}}
    if thread_id:
        snapshot = graph.get_state(config)
        if snapshot.values and not snapshot.next:
            if stream:
                print(f"Thread {thread_id} has finished; its stored answer:\n")
                print(snapshot.values.get("answer", ""))
            return result_from_state(snapshot.values)
        if snapshot.next:
            if stream:
                print(f"Resuming thread {thread_id} at: {', '.join(snapshot.next)}\n")
            request = None  # continue from the checkpoint; finished steps do not run again
            mode = snapshot.values["mode"]
            user_id = snapshot.values["user_id"]

    def execute(guard: EgressGuard | None) -> WritingResult:
        components = Components(
            store=store,
            local_model=local_model,
            egress_guard=guard,
            k=k,
            sketch_max_tokens=sketch_tokens,
            answer_max_tokens=answer_tokens,
            allow_private_egress=allow_private_egress,
            policy=cast("Any", policy),
            first_k=first_k,
            fusion_max_tokens=answer_tokens,
            fusion_draft=draft,
            degrade_on_cloud_error=degrade,
            local_scorer=_lora_scorer(settings, lora) if lora and mode == "fusion" else None,
            combiner=combiner,
        )
        if not stream:
            with private_run(components):
                state = graph.invoke(request, config=config, context=components, durability="sync")
                return result_from_state(state)
        with private_run(components):
            return stream_run(components)

    def stream_run(components: Components) -> WritingResult:
        parts: Any = graph.stream(
            request,
            config=config,
            context=components,
            stream_mode=["updates", "messages"],
            durability="sync",
        )
        for stream_mode, event in parts:
            if stream_mode == "updates" and "prepare" in event:
                prepared = event["prepare"]
                print(
                    f"Public instruction (may go to the cloud):\n  {prepared['public_instruction']}"
                )
                if prepared["private_instruction"]:
                    print(
                        "Private instruction (stays on this device):\n  "
                        + prepared["private_instruction"]
                    )
            elif stream_mode == "updates" and "sketch" in event and not event["sketch"]["sketch"]:
                print(f"\n{RULE}\nPersonalized answer (local model, no sketch):")
            elif stream_mode == "updates" and "sketch" in event:
                print(f"\n{RULE}\nSketch from the cloud:\n{event['sketch']['sketch']}")
                print(f"\n{RULE}\nPersonalized answer (local model):")
            elif stream_mode == "updates" and "retrieve" in event and mode == "local":
                print(f"\n{RULE}\nPersonalized answer (local model):")
            elif stream_mode == "messages":
                chunk, metadata = event
                if metadata.get("langgraph_node") == "write":
                    print(chunk.content, end="", flush=True)
        state = graph.get_state(config).values
        result = result_from_state(state)
        if result.fusion is not None:
            stopped = result.fusion["cloud_stopped_at"]
            note = f"; the cloud stopped at token {stopped}" if stopped is not None else ""
            print(
                f"\n{RULE}\nFused answer (local model + cloud next-token distributions, "
                f"{result.fusion['cloud_tokens']} token(s) with the cloud{note}):\n{result.answer}"
            )
        if result.cloud_skipped:
            print(f"\n{RULE}\nThe cloud was not used: {result.cloud_skipped}")
        if result.degraded:
            print(f"\n{RULE}\nDegraded: {result.degraded_reason}")
        if mode.startswith("cloud") and not result.cloud_skipped:
            print(f"\n{RULE}\nAnswer (cloud model):\n{result.answer}")
        print()
        return result

    # Refuse bad requests before a stand-in is started for them.
    if request is None:
        pass  # a resumed thread was validated when it started
    elif private_instruction is not None:
        instruction_of(request)
    elif not public_instruction.strip():
        raise InvalidInstruction("Invalid instruction: the instruction is empty.")
    if mode != "cloud-public" and not store.has_user(user_id):
        raise UnknownUser(user_id)
    if mode == "local":
        return execute(None)
    fusion = mode == "fusion"
    with cloud_endpoint(settings, n_ctx=1024 if fusion else 4096, logits_all=fusion) as (
        base_url,
        model,
        is_standin,
    ):
        if stream and is_standin:
            print(f"Started the stand-in cloud model at {base_url}\n")
        guard = EgressGuard(base_url=base_url, model=model, send_max_tokens=is_standin)
        return execute(guard)


def _lora_scorer(settings: Settings, lora: Path) -> Any:
    """The local model with ``lora`` as a token scorer (fusion)."""
    from langchain_cogenesis.fusion import LlamaCppScorer
    from langchain_cogenesis.models import bundled_model_path

    path = settings.local_model_path or bundled_model_path(settings.model_cache)
    return LlamaCppScorer(path, name="local", lora_path=lora)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Store the demo users, start the stand-in, run the sketch graph, show egress."""
    from langchain_cogenesis.data import load_demo_users

    users = load_demo_users()
    by_id = {user.context.user_id: user for user in users}
    if args.user not in by_id:
        print(f"error: no demo user {args.user!r}; choose from {', '.join(by_id)}", file=sys.stderr)
        return 2
    store = _store(settings)
    print(f"Private store: {store.location}")
    for user in users:
        chunks = store.add_user_context(user.context)
        print(f"  stored {chunks} private chunks for {user.context.user_id}")
    user = by_id[args.user]
    task = user.tasks[args.task % len(user.tasks)].instruction
    print(f"\nUser: {user.context.profile.name} ({user.context.user_id})\n")
    result = _run(
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
    _print_payloads(result)
    timings = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in result.timings.items())
    print(f"\n{RULE}\nTimings: {timings}")
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Load private sources and store them for a user."""
    from langchain_cogenesis.retrievers import load_sources

    documents = load_sources(args.paths)  # reads everything before storing anything
    store = _store(settings)
    chunks = store.add_documents(args.user, documents, show_progress=True)
    print(f"Stored {chunks} chunks from {len(documents)} documents for {args.user}.")
    return 0


def _load_combiner(spec: str) -> Any:
    from langchain_cogenesis.fusion.combiners import load_combiner

    try:
        return load_combiner(spec)
    except (ValueError, OSError) as error:
        raise SystemExit(f"error: --combiner: {error}") from None


def cmd_write(args: argparse.Namespace, settings: Settings) -> int:
    """Write for a user in the chosen mode."""
    result = _run(
        settings,
        user_id=args.user,
        public_instruction=args.instruction,
        private_instruction=args.private,
        kind=args.kind,
        mode=args.mode,
        answer_tokens=args.max_tokens,
        sketch_tokens=args.sketch_tokens,
        k=args.k,
        seed=args.seed,
        allow_private_egress=args.allow_private_egress,
        stream=not args.json,
        policy=args.policy,
        first_k=args.first_k,
        combiner=_load_combiner(args.combiner),
        draft=args.draft,
        thread_id=args.thread_id,
        degrade=not args.no_degrade,
        lora=args.lora,
    )
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        _print_payloads(result)
    if args.html:
        if result.fusion is None:
            print("error: --html needs --mode fusion (no fused tokens to show)", file=sys.stderr)
            return 2
        from langchain_cogenesis.fusion.html import fusion_html

        args.html.write_text(fusion_html(result.fusion["trace"]), encoding="utf-8")
        if not args.json:
            print(f"\nWrote the token view to {args.html}")
    return 0


def cmd_serve_cloud(args: argparse.Namespace, settings: Settings) -> int:
    """Run the stand-in cloud model until interrupted."""
    from langchain_cogenesis.models import StandInCloud

    standin = StandInCloud(settings.local_model_path, port=args.port, n_ctx=args.n_ctx)
    with standin:
        print(f"Stand-in cloud model serving at {standin.base_url} (model {standin.model}).")
        print(f"Use it with: export COGENESIS_CLOUD_BASE_URL={standin.base_url}")
        print("Press Ctrl-C to stop.", flush=True)

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)
        try:
            while standin.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """List or delete stored users."""
    store = _store(settings)
    if args.users_command == "list":
        users = store.list_users()
        if args.json:
            print(json.dumps([{"user_id": u, "chunks": store.count(u)} for u in users]))
        for user_id in [] if args.json else users:
            print(f"{user_id}\t{store.count(user_id)} chunks")
        return 0
    from langchain_cogenesis.privacy.erasure import erase_user

    erased = erase_user(args.user_id, home=settings.home, store=store)
    print(
        f"Erased {args.user_id}: {erased.store_chunks} stored chunks, the payload text of "
        f"{erased.audit_payloads} audit rows (their hashes stay), {erased.threads} "
        f"checkpointed threads, {erased.lines} cache and log lines."
    )
    for warning in erased.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_train_combiner(args: argparse.Namespace, settings: Settings) -> int:
    """Train the learned combiner on a dataset's reference responses."""
    from langchain_cogenesis.data.dataset import load_dataset, train_dev
    from langchain_cogenesis.fusion import LlamaCppScorer, check_same_tokenizer
    from langchain_cogenesis.fusion.training import dataset_steps, train_combiner
    from langchain_cogenesis.models import bundled_model_path

    rows = load_dataset(args.dataset)
    train_users, dev_users = train_dev(rows, dev_share=args.dev_share, limit=args.limit)
    model_path = settings.local_model_path or bundled_model_path(settings.model_cache)
    local = LlamaCppScorer(model_path, n_ctx=2048, name="local")
    cloud = LlamaCppScorer(args.cloud_model or model_path, n_ctx=2048, name="cloud")
    check_same_tokenizer(local, cloud)
    options = {"max_target_tokens": args.max_target_tokens, "show_progress": True}
    train = dataset_steps(train_users, local, cloud, **options)
    dev = dataset_steps(dev_users, local, cloud, **options)
    combiner, report = train_combiner(
        train,
        dev,
        local.vocab_size(),
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        max_epochs=args.max_epochs,
        show_progress=True,
    )
    combiner.save(args.out)
    print(
        f"Trained on {report.train_steps} token positions ({len(train_users)} users), "
        f"dev {report.dev_steps} ({len(dev_users)} users): dev NLL/token "
        f"{report.dev_nll[0]:.3f} before, {min(report.dev_nll):.3f} at epoch "
        f"{report.best_epoch} of {report.epochs_run}. Saved to {args.out}."
    )
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cogenesis``."""
    parser = argparse.ArgumentParser(
        prog="cogenesis",
        description="Personalized writing: cloud sketch, local model, private context stays here.",
    )
    parser.add_argument("--home", help="data folder (default: COGENESIS_HOME or user data dir)")
    parser.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], default=None,
        help="log to stderr (egress decisions are logged at info)",
    )  # fmt: skip
    parser.add_argument("--log-json", action="store_true", help="log one JSON object per line")
    parser.add_argument(
        "--allow-remote-store", action="store_true",
        help="let COGENESIS_CHROMA_URL name a Chroma server on another host: the private "
        "store then leaves this device (recorded in the audit log)",
    )  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)

    def generation_options(command: argparse.ArgumentParser, answer_tokens: int) -> None:
        command.add_argument("--max-tokens", type=int, default=answer_tokens)
        command.add_argument("--sketch-tokens", type=int, default=200)
        command.add_argument("--k", type=int, default=4, help="private chunks to retrieve")
        command.add_argument("--seed", type=int, default=None)

    demo = commands.add_parser("demo", help="run sketch-based CoGenesis for a demo user")
    demo.add_argument("--user", default="maya-okafor")
    demo.add_argument("--task", type=int, default=0)
    generation_options(demo, 320)
    demo.set_defaults(handler=cmd_demo)

    ingest = commands.add_parser("ingest", help="store private sources for a user")
    ingest.add_argument("--user", required=True)
    ingest.add_argument("paths", nargs="+", help="files or folders")
    ingest.set_defaults(handler=cmd_ingest)

    write = commands.add_parser("write", help="write for a user")
    write.add_argument("--user", required=True)
    write.add_argument(
        "--mode",
        choices=["sketch", "fusion", "local", "cloud-public", "cloud-private"],
        default="sketch",
    )
    write.add_argument(
        "--first-k", type=int, default=None, help="fusion: the cloud takes part in k tokens only"
    )
    write.add_argument(
        "--combiner",
        default="mean",
        help="fusion: mean, max, or a trained combiner folder (cogenesis train-combiner)",
    )
    write.add_argument(
        "--draft",
        type=int,
        default=0,
        help="fusion: local proposals scored per cloud request (0: one request per token)",
    )
    write.add_argument(
        "--private",
        help="the private part of the instruction; without it the instruction is split "
        "into public and private parts on this device",
    )
    write.add_argument(
        "--policy",
        choices=["redact", "block", "local_only"],
        default=None,
        help="what to do when a cloud payload carries private context (default: redact)",
    )
    write.add_argument(
        "--kind", choices=["context-aware", "email", "paper"], default="context-aware"
    )
    write.add_argument("--json", action="store_true", help="print the result as JSON")
    write.add_argument(
        "--lora",
        type=Path,
        default=None,
        help="a GGUF LoRA adapter for the local model (cogenesis finetune writes one); "
        "default COGENESIS_LOCAL_LORA",
    )
    write.add_argument(
        "--no-degrade",
        action="store_true",
        help="fail when the cloud fails (after retries) instead of writing locally alone",
    )
    write.add_argument(
        "--thread-id",
        default=None,
        help="checkpoint every step under this id; run again with the same id to resume "
        "a run that stopped mid-way (the cloud is not asked again for finished steps)",
    )
    write.add_argument(
        "--html", type=Path, default=None, help="fusion: write a page shading each token by w"
    )
    write.add_argument(
        "--allow-private-egress",
        action="store_true",
        help="required by --mode cloud-private, which sends private context to the cloud",
    )
    write.add_argument("instruction", help="the public instruction")
    generation_options(write, 512)
    write.set_defaults(handler=cmd_write)

    serve = commands.add_parser("serve-cloud", help="run the stand-in cloud model")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--n-ctx", type=int, default=4096)
    serve.set_defaults(handler=cmd_serve_cloud)

    users = commands.add_parser("users", help="list or delete stored users")
    users_commands = users.add_subparsers(dest="users_command", required=True)
    users_list = users_commands.add_parser("list")
    users_list.add_argument("--json", action="store_true")
    users_delete = users_commands.add_parser(
        "delete", help="erase the user's text everywhere under COGENESIS_HOME"
    )
    users_delete.add_argument("user_id")
    users.set_defaults(handler=cmd_users)

    train = commands.add_parser("train-combiner", help="train the learned fusion combiner")
    train.add_argument("--out", type=Path, required=True, help="folder for the weights")
    train.add_argument(
        "--dataset",
        default="bundled",
        help="bundled (its train/dev splits), demo, the paper's dev.json, or a JSONL file",
    )
    train.add_argument("--limit", type=int, default=None, help="at most this many train users")
    train.add_argument("--cloud-model", type=Path, default=None, help="GGUF of the cloud side")
    train.add_argument("--max-target-tokens", type=int, default=48)
    train.add_argument("--max-epochs", type=int, default=20)
    train.add_argument("--learning-rate", type=float, default=2e-3)
    train.add_argument("--batch-size", type=int, default=2)
    train.add_argument("--dev-share", type=float, default=0.1)
    train.set_defaults(handler=cmd_train_combiner)

    from langchain_cogenesis.cli.evaluate import add_parser as add_eval
    from langchain_cogenesis.cli.finetune import add_parser as add_finetune

    add_eval(commands)
    add_finetune(commands)

    audit = commands.add_parser("audit", help="show or verify the egress audit log")
    audit.add_argument("--user", default=None, help="only this user's attempts")
    audit.add_argument("--json", action="store_true")
    audit.add_argument("--verify", action="store_true", help="check the hash chain")
    audit.set_defaults(handler=cmd_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``cogenesis``."""
    from langchain_cogenesis.cli.logs import configure

    args = build_parser().parse_args(argv)
    configure(args.log_level, args.log_json)
    settings = Settings.from_env(home=args.home, allow_remote_store=args.allow_remote_store or None)
    try:
        return int(args.handler(args, settings))
    except CoGenesisError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
