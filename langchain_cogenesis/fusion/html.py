"""An HTML view of a fused generation, each token shaded by its weight (paper Fig. 6)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 16px/1.7 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; }}
.token {{ white-space: pre-wrap; border-radius: 3px; }}
.legend span {{ padding: 0 .4rem; margin-right: .5rem; }}
</style></head><body>
<h1>{title}</h1>
<p class="legend"><span style="background:{local}">local model (w = 1)</span>
<span style="background:{even}">even (w = 0.5)</span>
<span style="background:{cloud}">cloud model (w = 0)</span>
<span style="background:#eeeeee">local only (cloud not asked)</span></p>
<p>{tokens}</p>
<p>{summary}</p>
</body></html>
"""


def _shade(weight: float) -> str:
    """White at 0.5; red towards the local model (1), blue towards the cloud (0)."""
    strength = min(1.0, abs(weight - 0.5) * 2)
    fade = int(255 - 130 * strength)
    return f"rgb(255,{fade},{fade})" if weight >= 0.5 else f"rgb({fade},{fade},255)"


def fusion_html(trace: Sequence[Mapping[str, Any]], *, title: str = "Fused generation") -> str:
    """A standalone HTML page; ``trace`` is ``WritingResult.fusion["trace"]``."""
    spans = []
    for step in trace:
        weight = float(step["weight"])
        cloud = step.get("cloud_top")
        colour = _shade(weight) if cloud is not None else "#eeeeee"
        tip = f"w = {weight:.2f}; local top {step['local_top']}; cloud top {cloud}"
        spans.append(
            f'<span class="token" style="background:{colour}" title="{html.escape(tip)}">'
            f"{html.escape(str(step['token']))}</span>"
        )
    with_cloud = sum(1 for step in trace if step.get("cloud_top") is not None)
    summary = f"{len(trace)} tokens, {with_cloud} with the cloud taking part."
    return _PAGE.format(
        title=html.escape(title),
        tokens="".join(spans),
        summary=summary,
        local=_shade(1.0),
        even=_shade(0.5),
        cloud=_shade(0.0),
    )
