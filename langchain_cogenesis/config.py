"""Settings: explicit arguments first, then ``COGENESIS_*`` environment variables.

Every variable the package reads is a field of :class:`Settings`, read and validated
here (pydantic-settings): a malformed URL, boolean or number is a
:class:`~langchain_cogenesis.errors.ConfigurationError` that names the variable, raised
where the settings are first read rather than deep inside a run.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from platformdirs import user_data_dir
from pydantic import (
    AliasChoices,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from langchain_cogenesis.errors import ConfigurationError


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


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) URL with a host, or ``None`` when it is."""
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https"):
        return "the scheme must be http or https"
    if not parsed.hostname:
        return "it has no host"
    try:
        parsed.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "its port is not a number"
    return None


def checked_url(url: str, source: str) -> str:
    """``url`` without its trailing slash, once it is an http(s) URL with a host.

    Raises:
        ConfigurationError: anything else, named with where it came from.
    """
    problem = url_problem(url)
    if problem:
        raise ConfigurationError(
            f"{source}={shown_url(url)!r} is not a usable endpoint ({problem}): give an http(s) "
            "URL with a host, e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1."
        )
    return url.strip().rstrip("/")


def shown_url(url: str) -> str:
    """``url`` without any ``user:password@`` part (for messages, logs and the audit log)."""
    parsed = urlparse(url)
    if parsed.username is None and parsed.password is None:
        return url
    return parsed._replace(netloc=parsed.netloc.rpartition("@")[2]).geturl()


def _platform_home() -> Path:
    return Path(user_data_dir("langchain-cogenesis"))


def _variable(name: str, *fallbacks: str) -> Any:
    """The field reads the environment variable ``name`` (then ``fallbacks``); an
    explicit keyword argument uses the field's own name."""
    return AliasChoices(name, *fallbacks)


class Settings(BaseSettings):
    """Where things live, which endpoints to use and how patiently.

    Every field can be passed explicitly (``Settings.from_env(home=...)``); the rest
    come from the environment. The variables:

    - ``COGENESIS_HOME``: the folder of the store, the audit log, keys and tokens
      (default: the platform's user data folder).
    - ``COGENESIS_CHROMA_URL``, ``COGENESIS_CHROMA_TOKEN``: a Chroma server holding the
      store, and its token; ``COGENESIS_ALLOW_REMOTE_STORE`` (a boolean) lets that
      server be on another host, which moves the private context off the device.
    - ``COGENESIS_LOCAL_MODEL``: the local GGUF; ``COGENESIS_LOCAL_LORA``: a fine-tuned
      adapter (``cogenesis finetune``); ``COGENESIS_LOCAL_THREADS``: llama.cpp threads.
    - ``COGENESIS_STANDIN_MODEL``: the GGUF the embedded stand-in cloud serves (default
      the local model).
    - ``COGENESIS_CLOUD_BASE_URL``, ``COGENESIS_CLOUD_MODEL``, ``COGENESIS_CLOUD_API_KEY``
      (else ``OPENAI_API_KEY``), ``COGENESIS_CLOUD_TIMEOUT`` (seconds, > 0) and
      ``COGENESIS_CLOUD_MAX_RETRIES`` (>= 0): the cloud endpoint.
    - ``COGENESIS_TAGGER``: a folder of detector weights (``cogenesis train-detector``).
    - Served graphs: ``COGENESIS_POSTGRES_URI``, ``COGENESIS_CHECKPOINT_KEY``,
      ``COGENESIS_CHECKPOINT_OLD_KEYS``, ``COGENESIS_TOKEN_FILE``, ``COGENESIS_JWT_KEY``
      or ``COGENESIS_JWT_KEY_FILE``, ``COGENESIS_JWT_ALGORITHMS``,
      ``COGENESIS_JWT_ISSUER``, ``COGENESIS_JWT_AUDIENCE``.

    An empty variable counts as unset. A malformed value is a
    :class:`~langchain_cogenesis.errors.ConfigurationError` naming the variable.
    """

    model_config = SettingsConfigDict(
        env_ignore_empty=True,
        populate_by_name=True,
        extra="ignore",
        case_sensitive=True,
    )

    home: Path = Field(default_factory=_platform_home, validation_alias=_variable("COGENESIS_HOME"))
    chroma_url: str | None = Field(None, validation_alias=_variable("COGENESIS_CHROMA_URL"))
    chroma_token: SecretStr | None = Field(
        None, validation_alias=_variable("COGENESIS_CHROMA_TOKEN")
    )
    allow_remote_store: bool = Field(
        False, validation_alias=_variable("COGENESIS_ALLOW_REMOTE_STORE")
    )
    local_model_path: Path | None = Field(None, validation_alias=_variable("COGENESIS_LOCAL_MODEL"))
    local_lora_path: Path | None = Field(None, validation_alias=_variable("COGENESIS_LOCAL_LORA"))
    local_threads: PositiveInt | None = Field(
        None, validation_alias=_variable("COGENESIS_LOCAL_THREADS")
    )
    standin_model_path: Path | None = Field(
        None, validation_alias=_variable("COGENESIS_STANDIN_MODEL")
    )
    cloud_base_url: str | None = Field(None, validation_alias=_variable("COGENESIS_CLOUD_BASE_URL"))
    cloud_model: str = Field("gpt-4o-mini", validation_alias=_variable("COGENESIS_CLOUD_MODEL"))
    cloud_api_key: SecretStr | None = Field(
        None, validation_alias=_variable("COGENESIS_CLOUD_API_KEY", "OPENAI_API_KEY")
    )
    cloud_timeout: PositiveFloat = Field(
        60.0, validation_alias=_variable("COGENESIS_CLOUD_TIMEOUT")
    )
    cloud_max_retries: NonNegativeInt = Field(
        2, validation_alias=_variable("COGENESIS_CLOUD_MAX_RETRIES")
    )
    tagger_path: Path | None = Field(None, validation_alias=_variable("COGENESIS_TAGGER"))
    postgres_uri: SecretStr | None = Field(
        None, validation_alias=_variable("COGENESIS_POSTGRES_URI")
    )
    checkpoint_key: SecretStr | None = Field(
        None, validation_alias=_variable("COGENESIS_CHECKPOINT_KEY")
    )
    checkpoint_old_keys: SecretStr | None = Field(
        None, validation_alias=_variable("COGENESIS_CHECKPOINT_OLD_KEYS")
    )
    token_file: Path | None = Field(None, validation_alias=_variable("COGENESIS_TOKEN_FILE"))
    jwt_key: SecretStr | None = Field(None, validation_alias=_variable("COGENESIS_JWT_KEY"))
    jwt_key_file: Path | None = Field(None, validation_alias=_variable("COGENESIS_JWT_KEY_FILE"))
    jwt_algorithms: str = Field("HS256", validation_alias=_variable("COGENESIS_JWT_ALGORITHMS"))
    jwt_issuer: str | None = Field(None, validation_alias=_variable("COGENESIS_JWT_ISSUER"))
    jwt_audience: str | None = Field(None, validation_alias=_variable("COGENESIS_JWT_AUDIENCE"))

    @field_validator(
        "home",
        "local_model_path",
        "local_lora_path",
        "standin_model_path",
        "tagger_path",
        "token_file",
        "jwt_key_file",
    )
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("chroma_url", "cloud_base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = url_problem(value)
        if problem:
            raise ValueError(f"not a usable endpoint ({problem}); give an http(s) URL with a host")
        return value.strip().rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from the environment (or the mapping ``environ``); keyword
        arguments that are not ``None`` win.

        Raises:
            ConfigurationError: a malformed value, naming the variable (or argument).
        """
        given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        try:
            if environ is None:
                return cls(**given)
            values: dict[str, object] = {k: v for k, v in environ.items() if v != ""}
            return cls.model_validate({**values, **given})
        except ValidationError as error:
            raise ConfigurationError(_describe(error, given)) from None

    def secret(self, name: str) -> str | None:
        """The plain text of the secret field ``name`` (``cloud_api_key``, ...), or ``None``."""
        value = getattr(self, name)
        return value.get_secret_value() if value is not None else None

    @property
    def store_path(self) -> Path:
        """Folder of the embedded Chroma store."""
        return self.home / "store"

    @property
    def model_cache(self) -> Path:
        """Folder where the bundled GGUF is assembled once."""
        return self.home / "models"


def _describe(error: ValidationError, given: Mapping[str, object]) -> str:
    """One line per bad value, naming the variable or argument; secrets are not shown."""
    variables = {}
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        env = alias.choices[0] if isinstance(alias, AliasChoices) else name
        variables[name] = str(env)
    lines = []
    for problem in error.errors():
        key = str(problem["loc"][0]) if problem["loc"] else "?"
        field = next((n for n, env in variables.items() if key in (n, env)), key)
        source = f"argument {field}" if field in given else variables.get(field, key)
        found = Settings.model_fields.get(field)
        secret = found is None or "SecretStr" in str(found.annotation)
        shown = "" if secret else f"={shown_url(str(problem.get('input')))!r}"
        reason = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"{source}{shown}: {reason}")
    return "Invalid configuration: " + "; ".join(lines) + "."


def default_home() -> Path:
    """``COGENESIS_HOME``, or the platform's user data dir."""
    return Settings.from_env().home
