"""A Chroma server as the private store: the ``HttpClient``, and the remote-host policy.

A server on loopback is the user's own. A server on another host holds every stored
private document, so it needs the explicit opt-in (``allow_remote_store``), and opening
it is logged and recorded in the audit log (purpose ``remote-store``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import SecretStr

from langchain_cogenesis.config import is_loopback_host, shown_url
from langchain_cogenesis.errors import ConfigurationError, MissingExtra, RemoteStoreNotAllowed

if TYPE_CHECKING:
    from langchain_cogenesis.privacy.egress.audit import AuditLog

_TOKEN_AUTH = "chromadb.auth.token_authn.TokenAuthClientProvider"


def http_client(
    url: str,
    *,
    token: str | SecretStr | None,
    allow_remote: bool,
    audit_log: AuditLog | Literal["default"] | None,
) -> Any:
    """A Chroma ``HttpClient`` for ``url``; a remote host only with the opt-in, recorded."""
    with MissingExtra.if_absent("local", "The private store (Chroma)"):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigurationError(
            f"The Chroma URL {shown_url(url)!r} is not an http:// or https:// URL with a "
            "host; use e.g. http://127.0.0.1:8000."
        )
    remote = not is_loopback_host(parsed.hostname)
    if remote and not allow_remote:
        raise RemoteStoreNotAllowed(shown_url(url))
    secret = token.get_secret_value() if isinstance(token, SecretStr) else token
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if secret:  # Chroma's token auth: sent as "Authorization: Bearer <token>"
        chroma_settings.chroma_client_auth_provider = _TOKEN_AUTH
        chroma_settings.chroma_client_auth_credentials = secret
    if remote:
        _record_remote_store(shown_url(url), parsed.scheme == "https", bool(secret), audit_log)
    return chromadb.HttpClient(
        host=parsed.hostname,
        port=parsed.port or (443 if parsed.scheme == "https" else 8000),
        ssl=parsed.scheme == "https",
        settings=chroma_settings,
    )


def _record_remote_store(
    url: str, tls: bool, token: bool, audit_log: AuditLog | Literal["default"] | None
) -> None:
    """A log line and an audit row: the user opted in to a store off the device."""
    from langchain_cogenesis.privacy.egress.audit import record_remote_destination

    transport = ("TLS" if tls else "plain HTTP") + (", token auth" if token else ", no auth")
    record_remote_destination(
        url,
        "remote-store",
        f"every stored document and query goes to this Chroma server ({transport})",
        audit_log,
    )
