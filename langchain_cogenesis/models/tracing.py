"""What the package's chat models report to LangSmith-style tracers."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import LangSmithParams


def ls_params(
    provider: str,
    model_name: str,
    *,
    temperature: float | None,
    max_tokens: int | None,
    stop: list[str] | None,
    overrides: dict[str, Any],
) -> LangSmithParams:
    """The standard ``ls_*`` fields; per-call values (``overrides``) win."""
    params = LangSmithParams(
        ls_provider=provider,
        ls_model_name=overrides.get("model", model_name),
        ls_model_type="chat",
        ls_max_tokens=overrides.get("max_tokens", max_tokens),
    )
    temperature = overrides.get("temperature", temperature)
    if temperature is not None:
        params["ls_temperature"] = temperature
    if stop:
        params["ls_stop"] = stop
    return params
