"""Authentication and ownership for the served graphs (``langgraph.json``'s ``auth``).

LangGraph Server (and ``langgraph dev``) calls :data:`auth` on every request:

- **who**: :func:`authenticate` reads ``Authorization: Bearer <token>`` and asks the
  verifier of the environment (:func:`~langchain_cogenesis.graphs.tokens.verifier_from_env`)
  whose token it is; no token, or a token it does not know, is a 401;
- **whose**: every thread, run, cron and store item is stamped with its owner when it
  is made, and every read, search, update and delete is filtered by the owner, so
  another user's thread is a 404 and their store namespace a 403;
- **as whom**: a run's ``user_id`` is the caller's own. A body naming another user
  is refused (403) unless the caller holds :data:`~langchain_cogenesis.graphs.tokens.ADMIN`,
  and so is a run ``context`` that changes the server's parts (a served run takes
  its store, models and policy from the server's environment). The graphs check
  both again when they start (``graphs.nodes.prepare``), for any door this one missed.

Assistants are the server's: everyone may read them; only an admin may make,
change or delete one, so nobody's run picks up someone else's configuration.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph_sdk import Auth

from langchain_cogenesis.errors import ConfigurationError, InvalidToken
from langchain_cogenesis.graphs.tokens import ADMIN, verifier_from_env

OWNER = "owner"
"""The metadata key that names a resource's owner."""

auth = Auth()


def _refuse(status: int, detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(status_code=status, detail=detail)


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    """The caller's identity from ``Authorization: Bearer <token>``."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refuse(401, "Send 'Authorization: Bearer <token>' (`cogenesis tokens issue`).")
    try:
        verifier = verifier_from_env()
        identity = await asyncio.to_thread(verifier.verify, token)
    except InvalidToken as error:
        raise _refuse(401, str(error)) from None
    except ConfigurationError as error:  # a damaged token file, an unreadable key
        raise _refuse(503, f"Authentication is misconfigured on the server: {error}") from None
    return {"identity": identity.user_id, "permissions": list(identity.permissions)}


def _stamp(value: dict[str, Any], owner: str) -> None:
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
        value["metadata"] = metadata
    metadata[OWNER] = owner


@auth.on
async def owner_only(ctx: Auth.types.AuthContext, value: Any) -> Auth.types.FilterType:
    """Every resource and action not named below: stamp what is made, filter the rest."""
    if ctx.action == "create" and isinstance(value, dict):
        _stamp(value, ctx.user.identity)
    return {OWNER: ctx.user.identity}


def _check_request(ctx: Auth.types.AuthContext, request: dict[str, Any]) -> None:
    """A run's input names the caller (or no one), and it brings no parts of its own."""
    identity = ctx.user.identity
    admin = ADMIN in ctx.permissions
    body = request.get("input")
    named = body.get("user_id") if isinstance(body, dict) else None
    if named not in (None, "", identity) and not admin:
        raise _refuse(403, f"This token runs the graphs for {identity!r} only.")
    if request.get("context") and not admin:
        raise _refuse(
            403,
            "A served run takes its parts (store, models, policy) from the server's "
            "environment; send no 'context'.",
        )


def _owned(ctx: Auth.types.AuthContext, value: Any, request: dict[str, Any]) -> dict[str, str]:
    _check_request(ctx, request)
    _stamp(value, ctx.user.identity)
    return {OWNER: ctx.user.identity}


@auth.on.threads.create_run
async def own_runs(
    ctx: Auth.types.AuthContext, value: Auth.types.RunsCreate
) -> Auth.types.FilterType:
    """A run is the caller's, in the caller's thread, for the caller's user id."""
    return _owned(ctx, value, value.get("kwargs") or {})


@auth.on.crons.create
async def own_crons(
    ctx: Auth.types.AuthContext, value: Auth.types.CronsCreate
) -> Auth.types.FilterType:
    """A scheduled run follows the rules of a run, checked when it is scheduled."""
    return _owned(ctx, value, value.get("payload") or {})


@auth.on.assistants
async def server_assistants(ctx: Auth.types.AuthContext, value: Any) -> None:
    """Read by everyone; made, changed and deleted by an admin only."""
    if ctx.action in ("read", "search"):
        return
    if ADMIN not in ctx.permissions:
        raise _refuse(403, "Only an admin makes, changes or deletes assistants.")


@auth.on.store()
async def own_namespace(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    """Store items live under the caller's user id: ``(user_id, ...)``."""
    identity = ctx.user.identity
    namespace = tuple(value.get("namespace") or ())
    if namespace[:1] == (identity,):
        return
    if not namespace and ctx.action in ("search", "list_namespaces"):
        value["namespace"] = (identity,)  # no prefix given: the caller's own
        return
    raise _refuse(403, f"Store items of this token live under ({identity!r}, ...).")
