"""Settings: explicit arguments first, then ``COGENESIS_*`` environment variables."""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from pydantic import BaseModel, Field, SecretStr


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost``, 127.0.0.0/8 or ``::1``.

    Decided from the name alone, with no DNS lookup, so a name that merely resolves to
    loopback today (and elsewhere tomorrow) counts as remote.
    """
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def check_arguments(model: type[Any], given: Mapping[str, Any]) -> None:
    """Refuse keyword arguments ``model`` (a pydantic model) has no field for, naming
    the close match: a misspelled ``max_token=5`` would otherwise be ignored."""
    from langchain_cogenesis.errors import ConfigurationError

    known = {
        name
        for field_name, info in model.model_fields.items()
        for name in (field_name, info.alias)
        if name
    }
    unknown = [name for name in given if name not in known]
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ConfigurationError(
        f"{model.__name__} has no argument {', '.join(hints)}. Its arguments: "
        f"{', '.join(sorted(name for name in known if not name.startswith('_')))}."
    )


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def _env_flag(name: str) -> bool:
    """A boolean variable; a value that is neither (``maybe``) is an error naming it."""
    value = (os.environ.get(name) or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    from langchain_cogenesis.errors import ConfigurationError

    raise ConfigurationError(
        f"{name}={os.environ.get(name)!r} is not a boolean: use one of "
        f"{', '.join(_TRUE)} or {', '.join(v for v in _FALSE if v)}."
    )


def default_home() -> Path:
    """``COGENESIS_HOME``, or the platform's user data dir."""
    home = _env("COGENESIS_HOME")
    return Path(home).expanduser() if home else Path(user_data_dir("langchain-cogenesis"))


class Settings(BaseModel):
    """Where things live and which endpoints to use.

    Every field can be passed explicitly; :meth:`from_env` fills the rest from
    ``COGENESIS_HOME``, ``COGENESIS_CHROMA_URL``, ``COGENESIS_CHROMA_TOKEN`` (Chroma's
    token auth), ``COGENESIS_ALLOW_REMOTE_STORE`` (``1``: a Chroma server on another
    host may hold the store, which moves it off the device), ``COGENESIS_LOCAL_MODEL``,
    ``COGENESIS_LOCAL_LORA`` (a fine-tuned adapter, ``cogenesis finetune``),
    ``COGENESIS_STANDIN_MODEL`` (the GGUF the embedded stand-in cloud serves; default
    the local model, so both sides may be different families),
    ``COGENESIS_CLOUD_BASE_URL``, ``COGENESIS_CLOUD_MODEL`` and
    ``COGENESIS_CLOUD_API_KEY`` (falling back to ``OPENAI_API_KEY``).
    """

    home: Path = Field(default_factory=default_home)
    chroma_url: str | None = None
    chroma_token: SecretStr | None = None
    allow_remote_store: bool = False
    local_model_path: Path | None = None
    local_lora_path: Path | None = None
    standin_model_path: Path | None = None
    cloud_base_url: str | None = None
    cloud_model: str = "gpt-4o-mini"
    cloud_api_key: str | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from the environment; keyword arguments win."""
        local = _env("COGENESIS_LOCAL_MODEL")
        lora = _env("COGENESIS_LOCAL_LORA")
        standin = _env("COGENESIS_STANDIN_MODEL")
        values: dict[str, object] = {
            "home": default_home(),
            "chroma_url": _env("COGENESIS_CHROMA_URL"),
            "chroma_token": _env("COGENESIS_CHROMA_TOKEN"),
            "allow_remote_store": _env_flag("COGENESIS_ALLOW_REMOTE_STORE"),
            "local_model_path": Path(local).expanduser() if local else None,
            "local_lora_path": Path(lora).expanduser() if lora else None,
            "standin_model_path": Path(standin).expanduser() if standin else None,
            "cloud_base_url": _env("COGENESIS_CLOUD_BASE_URL"),
            "cloud_model": _env("COGENESIS_CLOUD_MODEL", "gpt-4o-mini"),
            "cloud_api_key": _env("COGENESIS_CLOUD_API_KEY", _env("OPENAI_API_KEY")),
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls.model_validate(values)

    @property
    def store_path(self) -> Path:
        """Folder of the embedded Chroma store."""
        return self.home / "store"

    @property
    def model_cache(self) -> Path:
        """Folder where the bundled GGUF is assembled once."""
        return self.home / "models"
