"""The embedded stand-in for a cloud model.

It is llama-cpp-python's real OpenAI-compatible server (``llama_cpp.server``) on
127.0.0.1, so the package talks to it over HTTP through the same code path as to a
hosted cloud model. It serves any GGUF through the model's own chat template (from
its metadata; the family's default for a base model without one), and it may be
another file than the local model (``COGENESIS_STANDIN_MODEL``). It starts through
:mod:`~langchain_cogenesis.models.standin_server`, which gives llama_cpp's answers to
completion log-probability requests (logit fusion) without ranking the whole
vocabulary in Python for every scored token.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from langchain_cogenesis.config import Settings, is_loopback_host
from langchain_cogenesis.errors import CloudUnavailable, ConfigurationError, LocalModelError
from langchain_cogenesis.models.loader import bundled_model_path
from langchain_cogenesis.models.templates import chat_template_for

STANDIN_MODEL_NAME = "cogenesis-standin"


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to stop it when the parent dies (even by
    ``kill -9``), so a crashed caller leaves no server behind. Linux ties this to the
    thread that started the server: start it from a thread that outlives its use."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class StandInCloud:
    """Start, health-check and stop a local OpenAI-compatible llama.cpp server.

    Use it as a context manager::

        with StandInCloud() as cloud:
            print(cloud.base_url)  # http://127.0.0.1:PORT/v1

    Key init args:
        model_path: GGUF to serve (default: ``COGENESIS_STANDIN_MODEL``, else
            ``COGENESIS_LOCAL_MODEL``, else the bundled model).
        chat_template: override of the GGUF's chat template (a Jinja template, or
            ``"chatml"`` / ``"gemma"``); the server renders a Jinja override from a
            ``tokenizer_config.json`` it is given.
        port: fixed port; by default a free one is picked.
        n_ctx: the server's context window.
        startup_timeout: seconds to wait for the health check.
        log_path: where the server's output goes (default ``$COGENESIS_HOME/logs``).
        logits_all: serve completion log-probabilities (needed for logit fusion;
            costs n_ctx × vocabulary floats of memory, about 1 GB at n_ctx 1,024).
        host: the address to listen on: loopback (default), so only this machine
            reaches it. Any other address serves the model to the network and needs
            ``api_key``.
        api_key: a key clients must send (``Authorization: Bearer ...``); required
            for a host other than loopback.
        fast_logprobs: rank completion log-probabilities by partial selection
            (:mod:`~langchain_cogenesis.models.standin_server`, the same answers);
            ``False`` runs ``python -m llama_cpp.server`` as shipped.

    Raises:
        ConfigurationError: a host other than loopback without ``api_key``.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        port: int | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        startup_timeout: float = 120.0,
        log_path: Path | None = None,
        logits_all: bool = False,
        chat_template: str | None = None,
        host: str = "127.0.0.1",
        api_key: str | None = None,
        fast_logprobs: bool = True,
    ) -> None:
        if not is_loopback_host(host) and not (api_key or "").strip():
            raise ConfigurationError(
                f"The stand-in would listen on {host}, beyond this machine, with no key: "
                "pass api_key= (`cogenesis serve-cloud --api-key-file FILE`), or keep the "
                "default loopback host."
            )
        self.host = host
        self.api_key = api_key
        settings = Settings.from_env()
        self.model_path = (
            model_path
            or settings.standin_model_path
            or settings.local_model_path
            or bundled_model_path(settings.model_cache)
        )
        self.chat_template = chat_template
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.startup_timeout = startup_timeout
        self.log_path = log_path or settings.home / "logs" / f"standin-{self.port}.log"
        self.model = STANDIN_MODEL_NAME
        self.logits_all = logits_all
        self.fast_logprobs = fast_logprobs
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (ends in ``/v1``); this machine's address
        when the server listens on every interface."""
        wildcard = self.host in ("0.0.0.0", "::", "")
        host = "127.0.0.1" if wildcard else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The command line that starts the server."""
        server = (
            "langchain_cogenesis.models.standin_server"
            if self.fast_logprobs
            else "llama_cpp.server"
        )
        command = [
            sys.executable,
            "-m",
            server,
            "--model",
            str(self.model_path),
            "--model_alias",
            self.model,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            *self._template_args(),
            "--verbose",
            "False",
            # llama_cpp.server cuts a streaming answer short when another request
            # arrives; a cloud serves concurrent callers, so queue them instead
            "--interrupt_requests",
            "False",
        ]
        if self.n_threads:
            command += ["--n_threads", str(self.n_threads)]
        if self.logits_all:
            # completion log-probabilities (logit fusion) need logits of every
            # position: n_ctx x vocabulary floats, so keep n_ctx small
            command += ["--logits_all", "True"]
        return command

    def _template_args(self) -> list[str]:
        """No flag when the GGUF's own template serves; else the template to use."""
        if self.chat_template == "chatml":
            return ["--chat_format", "chatml"]
        try:
            template = chat_template_for(self.model_path, self.chat_template)
        except LocalModelError:
            return []  # not a readable GGUF: the server reports it at start-up
        if template.name == "gguf":
            return []
        config = self.log_path.with_suffix(".tokenizer_config.json")
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps(template.tokenizer_config()), encoding="utf-8")
        return ["--chat_format", "hf-tokenizer-config", "--hf_tokenizer_config_path", str(config)]

    def healthy(self) -> bool:
        """True when ``GET /v1/models`` answers 200."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        request = urllib.request.Request(f"{self.base_url}/models", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def start(self) -> StandInCloud:
        """Start the server and wait until it answers its health check."""
        if self.running:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._environment(),
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise CloudUnavailable(
                    f"The stand-in cloud server exited during start-up; see {self.log_path}."
                )
            if self.healthy():
                return self
            time.sleep(0.25)
        self.stop()
        raise CloudUnavailable(
            f"The stand-in cloud server did not answer within {self.startup_timeout:.0f} s; "
            f"see {self.log_path}."
        )

    def _environment(self) -> dict[str, str]:
        """The server's environment; the key travels here, not on the command line
        (which every local user can read in the process list)."""
        env = {key: value for key, value in os.environ.items() if key != "API_KEY"}
        env["PYTHONUNBUFFERED"] = "1"
        if self.api_key:
            env["API_KEY"] = self.api_key  # llama_cpp.server's setting of that name
        return env

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after five seconds."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)

    def __enter__(self) -> StandInCloud:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def cloud_endpoint(
    settings: Settings | None = None, *, n_ctx: int = 4096, logits_all: bool = False
) -> Iterator[tuple[str, str, bool]]:
    """Yield ``(base_url, model, is_standin)`` of the cloud to use.

    ``COGENESIS_CLOUD_BASE_URL`` (or ``settings.cloud_base_url``) wins; otherwise
    the stand-in is started for the duration of the block and stopped after it
    (with ``logits_all`` when fusion needs completion log-probabilities), serving
    ``COGENESIS_STANDIN_MODEL`` (``settings.standin_model_path``), else the local model.
    """
    settings = settings or Settings.from_env()
    if settings.cloud_base_url:
        yield settings.cloud_base_url, settings.cloud_model, False
        return
    served = settings.standin_model_path or settings.local_model_path
    with StandInCloud(served, n_ctx=n_ctx, logits_all=logits_all) as standin:
        yield standin.base_url, standin.model, True
