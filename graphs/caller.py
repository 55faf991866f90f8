"""For whom a run LangGraph Server started runs: the authenticated caller.

LangGraph Server puts the user that :mod:`~langchain_cogenesis.graphs.auth`
authenticated into the run's config; the graphs' first step
(``graphs.nodes.prepare``) runs for that user only, whatever the request body says,
with the server's own parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_cogenesis.errors import NotPermitted
from langchain_cogenesis.graphs.state import Components
from langchain_cogenesis.graphs.tokens import Identity


def served_caller(configurable: Mapping[str, Any]) -> Identity | None:
    """The authenticated caller of a run LangGraph Server started, or ``None`` for a
    run started in-process (LangGraph Server puts the user in the run's config)."""
    user_id = configurable.get("langgraph_auth_user_id")
    user = configurable.get("langgraph_auth_user")
    if not user_id and user is not None:
        user_id = getattr(user, "identity", None)
    if not user_id:
        return None
    permissions = configurable.get("langgraph_auth_permissions")
    if permissions is None and user is not None:
        permissions = getattr(user, "permissions", ())
    return Identity(str(user_id), tuple(str(item) for item in permissions or ()))


_JSON = (str, int, float, bool, list, tuple, dict)


def _from_the_request(context: Components) -> list[str]:
    """The fields of ``context`` that differ from a context built from nothing and
    could have come from a request body (JSON values, not in-process objects)."""
    defaults = Components()
    return [
        name
        for name, default in vars(defaults).items()
        # None too: a request may switch a detector off with a null
        if getattr(context, name) != default
        and (getattr(context, name) is None or isinstance(getattr(context, name), _JSON))
    ]


def served_user(caller: Identity, named: str, context: Components | None) -> str:
    """The user a served run is for: the caller's own id, or the one an admin names.

    Raises:
        NotPermitted: the body names another user, or the run's context changes the
            server's parts, and the caller is not an admin.
    """
    if named and named != caller.user_id and not caller.is_admin:
        raise NotPermitted(
            f"This caller runs the graphs for {caller.user_id!r} only, not {named!r}; nothing ran."
        )
    changed = _from_the_request(context) if context is not None else []
    if changed and not caller.is_admin:
        raise NotPermitted(
            "A served run takes its parts from the server's environment; this run asked "
            f"to change {', '.join(changed)}. Nothing ran."
        )
    return named or caller.user_id
