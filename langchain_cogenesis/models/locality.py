"""Does a "local" model run on this device? Any LangChain chat model may be the local
model; this module finds where it sends its prompts before it reads private context.

A model is taken as local when it runs in the process (no endpoint found), or when
every endpoint it names is on loopback or a Unix socket: llama.cpp in-process,
Ollama on ``localhost:11434``, a llama.cpp or vLLM server on ``127.0.0.1``. A model
whose endpoint is another host (``ChatOpenAI`` with no ``base_url`` goes to
api.openai.com) would receive the profile, the notes and the writing history: it is
refused unless the caller says, explicitly, that this host is inside their trust
boundary (``allow_remote_local_model=True``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from langchain_cogenesis.config import is_loopback_host
from langchain_cogenesis.errors import ConfigurationError

# attributes in which LangChain chat models keep where they send requests
_URL_FIELDS = ("base_url", "openai_api_base", "api_base", "endpoint", "endpoint_url",
               "api_url", "host", "server_url")  # fmt: skip
_CLIENT_FIELDS = ("root_client", "client", "_client", "async_client", "root_async_client")


class RemoteLocalModel(ConfigurationError):
    """The model given as the local model sends its prompts to another machine."""


def endpoints(model: Any) -> list[str]:
    """The request endpoints ``model`` names (none for a model that runs in-process)."""
    found: list[str] = []
    for owner in (model, *(getattr(model, name, None) for name in _CLIENT_FIELDS)):
        if owner is None:
            continue
        for name in _URL_FIELDS:
            value = getattr(owner, name, None)
            if value is not None and not callable(value) and str(value).strip():
                found.append(str(value).strip())
    bound = getattr(model, "bound", None)  # a RunnableBinding: the model inside it
    if bound is not None and bound is not model:
        found += endpoints(bound)
    return list(dict.fromkeys(found))


def is_on_this_device(endpoint: str) -> bool:
    """Whether ``endpoint`` (a URL, or a bare host) is loopback or a Unix socket."""
    if endpoint.startswith(("unix:", "http+unix:", "/")):
        return True
    host = urlparse(endpoint if "://" in endpoint else f"//{endpoint}").hostname or ""
    return is_loopback_host(host)


def check_runs_here(model: Any, *, allow_remote: bool = False) -> None:
    """Refuse a local model whose endpoint is another machine, unless allowed.

    Raises:
        RemoteLocalModel: an endpoint that is neither loopback nor a Unix socket.
    """
    remote = [each for each in endpoints(model) if not is_on_this_device(each)]
    if remote and not allow_remote:
        raise RemoteLocalModel(
            f"The local model ({type(model).__name__}) sends its prompts to "
            f"{', '.join(remote)}, not to this device, and it would read the user's private "
            "context there. Run it here (llama.cpp in-process, Ollama or a server on "
            "127.0.0.1), or, if that host is inside your trust boundary, say so with "
            "allow_remote_local_model=True."
        )
