"""Who is calling a served graph: bearer tokens and the identity they stand for.

LangGraph Server runs the graphs of ``langgraph.json`` for whoever reaches it; the
auth module (:mod:`langchain_cogenesis.graphs.auth`) asks a verifier who a request's
bearer token belongs to, and the graphs then run for that user only.

Two verifiers, one interface (:class:`TokenVerifier`):

- :class:`TokenFile`, for one machine: tokens issued with ``cogenesis tokens issue``,
  kept as SHA-256 digests in a JSON file only the owner can read (a token is shown
  once, when it is issued, and cannot be read back);
- :class:`JwtVerifier`, for a deployment: signed tokens (JWT) from the operator's
  identity provider, checked against a configured key, issuer and audience.

:func:`verifier_from_env` picks one: the JWT verifier when ``COGENESIS_JWT_KEY`` or
``COGENESIS_JWT_KEY_FILE`` is set, otherwise the token file
(``COGENESIS_TOKEN_FILE``, default ``$COGENESIS_HOME/tokens.json``).

Instantiate:
    .. code-block:: python

        from langchain_cogenesis.graphs.tokens import TokenFile

        tokens = TokenFile()
        token = tokens.issue("maya-okafor")  # hand it to Maya; it is not stored
        tokens.verify(token).user_id  # "maya-okafor"
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from langchain_cogenesis.errors import ConfigurationError, InvalidToken, MissingExtra

ADMIN = "cogenesis:admin"
"""The permission that lets a caller run the graphs for another user."""

TOKEN_PREFIX = "cgt_"


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: the user the graphs run for, and their permissions."""

    user_id: str
    permissions: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        """Whether the caller may run the graphs for another user."""
        return ADMIN in self.permissions


class TokenVerifier(Protocol):
    """Turns a bearer token into the :class:`Identity` it stands for."""

    def verify(self, token: str) -> Identity:
        """The caller's identity.

        Raises:
            InvalidToken: the token is unknown, revoked, expired or forged.
        """
        ...


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenFile:
    """Bearer tokens of one machine, kept as SHA-256 digests in a JSON file.

    The file is rewritten whole (a crash leaves the old one) with mode 0600. Every
    :meth:`verify` reads it again, so a token revoked by ``cogenesis tokens revoke``
    stops working at the next request, without a restart.

    Key init args:
        path: the file; default ``COGENESIS_TOKEN_FILE``, else
            ``$COGENESIS_HOME/tokens.json``.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        if path is None:
            from langchain_cogenesis.config import Settings

            settings = Settings.from_env()
            path = settings.token_file or settings.home / "tokens.json"
        self.path = Path(path).expanduser()

    def issue(self, user_id: str, *, admin: bool = False, expires_in: float | None = None) -> str:
        """A new token for ``user_id``; only its digest is kept, so show it now.

        Args:
            user_id: the user the token stands for.
            admin: the token may run the graphs for any user (:data:`ADMIN`).
            expires_in: seconds until the token stops working; ``None``: never.
        """
        user_id = user_id.strip()
        if not user_id:
            raise ConfigurationError("A token needs the user id it stands for.")
        if expires_in is not None and expires_in <= 0:
            raise ConfigurationError(f"expires_in must be positive, not {expires_in!r}.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        entries = self._read()
        entries.append(
            {
                "sha256": _digest(token),
                "user_id": user_id,
                "permissions": [ADMIN] if admin else [],
                "created": time.time(),
                "expires": time.time() + expires_in if expires_in is not None else None,
            }
        )
        self._write(entries)
        return token

    def revoke(self, user_id: str) -> int:
        """Revoke every token of ``user_id``; returns how many there were."""
        entries = self._read()
        kept = [entry for entry in entries if entry.get("user_id") != user_id]
        if len(kept) != len(entries):
            self._write(kept)
        return len(entries) - len(kept)

    def entries(self) -> list[dict[str, Any]]:
        """The issued tokens (user, permissions, dates; never the token itself)."""
        return [
            {key: value for key, value in entry.items() if key != "sha256"}
            for entry in self._read()
        ]

    def verify(self, token: str) -> Identity:
        """The identity of ``token``.

        Raises:
            InvalidToken: the token is not in the file (never issued, or revoked), or
                it has expired.
        """
        digest = _digest(token.strip())
        for entry in self._read():
            if secrets.compare_digest(str(entry.get("sha256", "")), digest):
                expires = entry.get("expires")
                if expires is not None and time.time() > float(expires):
                    raise InvalidToken("The bearer token has expired; ask for a new one.")
                return Identity(str(entry["user_id"]), tuple(entry.get("permissions") or ()))
        raise InvalidToken("The bearer token is not known here (never issued, or revoked).")

    def _read(self) -> list[dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as error:
            raise ConfigurationError(
                f"The token file {self.path} cannot be read: {error}"
            ) from None
        try:
            data = json.loads(text)
            entries = data["tokens"]
            if not isinstance(entries, list):
                raise TypeError("'tokens' is not a list")
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigurationError(
                f"The token file {self.path} is damaged ({error}); issue the tokens again "
                "into a new file (`cogenesis tokens issue USER`)."
            ) from None
        return [entry for entry in entries if isinstance(entry, dict)]

    def _write(self, entries: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".writing")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump({"tokens": entries}, file, indent=1)
        os.replace(temporary, self.path)


class JwtVerifier:
    """Signed tokens (JWT) from an identity provider.

    A token must carry ``sub`` (the user id) and ``exp``; when ``issuer`` or
    ``audience`` is set, ``iss`` and ``aud`` must match. Permissions come from a
    ``permissions`` list or a space-separated ``scope``; :data:`ADMIN` among them
    lets the caller run the graphs for another user.

    Key init args:
        key: the HMAC secret (``HS256``) or the provider's public key in PEM
            (``RS256``, ``ES256``).
        algorithms: the accepted signature algorithms (never ``none``).
        issuer: the expected ``iss``.
        audience: the expected ``aud``.
        leeway: seconds of clock skew allowed on ``exp`` and ``nbf``.
    """

    def __init__(
        self,
        key: str | bytes,
        *,
        algorithms: tuple[str, ...] = ("HS256",),
        issuer: str | None = None,
        audience: str | None = None,
        leeway: float = 30.0,
    ) -> None:
        if not key:
            raise ConfigurationError("JwtVerifier needs a key (a secret or a PEM public key).")
        if not algorithms or any(name.lower() == "none" for name in algorithms):
            raise ConfigurationError("JwtVerifier needs signature algorithms, and never 'none'.")
        with MissingExtra.if_absent("server", "Signed bearer tokens (JWT)"):
            import jwt  # noqa: F401
        self.key = key
        self.algorithms = tuple(algorithms)
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    def verify(self, token: str) -> Identity:
        """The identity in ``token``'s claims, once its signature and dates check out."""
        import jwt

        try:
            claims = jwt.decode(
                token.strip(),
                self.key,
                algorithms=list(self.algorithms),
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": ["sub", "exp"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The bearer token has expired; ask for a new one.") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(f"The bearer token is not valid here: {error}.") from None
        return Identity(str(claims["sub"]), _permissions(claims))


def _permissions(claims: Mapping[str, Any]) -> tuple[str, ...]:
    listed = claims.get("permissions")
    found = [str(item) for item in listed] if isinstance(listed, list) else []
    scope = claims.get("scope")
    if isinstance(scope, str):
        found += scope.split()
    return tuple(dict.fromkeys(found))


def verifier_from_env(environ: Mapping[str, str] | None = None) -> TokenVerifier:
    """The verifier the environment names: JWT when a key is set, else the token file."""
    from langchain_cogenesis.config import Settings

    settings = Settings.from_env(environ)
    key = settings.secret("jwt_key")
    key_file = settings.jwt_key_file
    if key_file:
        try:
            key = Path(key_file).expanduser().read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigurationError(
                f"COGENESIS_JWT_KEY_FILE={key_file} cannot be read: {error}"
            ) from None
    if key:
        algorithms = tuple(name.strip() for name in settings.jwt_algorithms.split(","))
        return JwtVerifier(
            key,
            algorithms=tuple(name for name in algorithms if name),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    return TokenFile(settings.token_file)


def new_key() -> str:
    """A fresh random key of 32 bytes, base64 (for ``COGENESIS_CHECKPOINT_KEY``)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")
