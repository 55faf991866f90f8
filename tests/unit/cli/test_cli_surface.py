"""The command line a person expects: a version, help on every option, clean pipes."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from langchain_cogenesis import __version__
from langchain_cogenesis.cli import build_parser, main


def parsers(parser: argparse.ArgumentParser, name: str = "cogenesis"):  # type: ignore[no-untyped-def]
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from parsers(sub, f"{name} {sub_name}")


def test_every_option_and_argument_has_help() -> None:
    missing = [
        f"{name}: {action.dest}"
        for name, parser in parsers(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
        and not action.help
    ]
    assert missing == []


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"cogenesis {__version__}"


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``cogenesis ... | head`` closes the pipe early: no traceback, no error text."""
    command = [sys.executable, "-c", (
        "import sys\n"
        "from langchain_cogenesis.cli import main\n"
        "sys.argv = ['cogenesis', 'tokens', 'list', '--file', sys.argv[1]]\n"
        "sys.exit(main())\n"
    ), str(tmp_path / "tokens.json")]  # fmt: skip
    from langchain_cogenesis.graphs.tokens import TokenFile

    tokens = TokenFile(tmp_path / "tokens.json")
    tokens.path.parent.mkdir(parents=True, exist_ok=True)
    entries = [{"sha256": f"{n:064x}", "user_id": f"user-{n}", "permissions": [],
                "created": 0.0, "expires": None} for n in range(20000)]  # fmt: skip
    tokens._write(entries)
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()
        process.stdout.close()
        error = process.stderr.read().decode()
        process.wait(timeout=60)
    assert "Traceback" not in error and "BrokenPipe" not in error


def test_the_one_length_limit_is_stated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from langchain_cogenesis.schema import MAX_INSTRUCTION_CHARS

    code = main(["--home", str(tmp_path), "write", "--user", "nobody", "--mode", "local",
                 "x" * (MAX_INSTRUCTION_CHARS + 1)])  # fmt: skip
    assert code == 2
    assert f"{MAX_INSTRUCTION_CHARS:,}" in capsys.readouterr().err


def test_stdin_instruction_empty_listing_and_confirmed_erasure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from langchain_cogenesis.schema import MAX_INSTRUCTION_CHARS

    home = ["--home", str(tmp_path)]
    # '-' reads the instruction from standard input (here one too long, to stop early)
    monkeypatch.setattr(sys, "stdin", io.StringIO("y" * (MAX_INSTRUCTION_CHARS + 5)))
    assert main([*home, "write", "--user", "ana", "--mode", "local", "-"]) == 2
    assert f"{MAX_INSTRUCTION_CHARS + 5:,} characters" in capsys.readouterr().err
    # an empty store says so
    assert main([*home, "users", "list"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "No users are stored" in captured.err
    # erasing asks first; with nobody at a terminal it needs --yes, and erases nothing
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main([*home, "users", "delete", "ana"]) == 1
    assert "--yes" in capsys.readouterr().err


def test_the_demo_names_what_the_answer_drew_on_and_writes_with_smollm2(
    tmp_path: Path,
) -> None:
    from langchain_cogenesis.cli.demo import demo_models, drawn_on
    from langchain_cogenesis.config import Settings

    chunks = [
        "Mr. Halvorsen built the accessible raised beds.",
        "Maya is allergic to gluten.",
        "The festival opens in June.",
    ]
    answer = "Thank you, Mr. Halvorsen, for the beds. The festival opens soon."
    found = drawn_on(answer, chunks, ["Write a welcome speech for the festival"])
    assert found == [(chunks[0], ["Halvorsen"])]  # 'festival' is public, 'gluten' unsaid
    assert drawn_on("Hello everyone.", chunks, []) == []
    named = Settings.from_env(home=tmp_path, local_model_path=tmp_path / "mine.gguf")
    assert demo_models(named) is named  # a named model is kept
    chosen = demo_models(Settings.from_env(home=tmp_path))  # `make demo` installs smollm2
    assert chosen.local_model_path is not None
    assert chosen.local_model_path.name.startswith("SmolLM2")
    assert chosen.standin_model_path == chosen.local_model_path
