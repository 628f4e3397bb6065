"""A small trend chart of the job log's counters: one stacked bar per job entry, oldest on the left.

Inline SVG drawn on the server (no script, no chart library); the colours come from the page's theme
(CSS classes), so it follows Airflow's light or dark mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bcsync.web.render import esc, time_text

SERIES = ("inserted", "modified", "deleted", "failed")
WIDTH, HEIGHT, AXIS = 720, 80, 16
MAX_BAR = 24


def trend_svg(jobs: Sequence[Mapping[str, Any]]) -> str:
    """The finished entries of `jobs` (newest first, as the job log lists them) as stacked bars."""
    finished = [job for job in reversed(jobs) if job.get("finished_on") is not None]
    if not finished:
        return ""
    totals = [sum(job.get(name) or 0 for name in SERIES) for job in finished]
    top = max(max(totals), 1)
    step = min(WIDTH / len(finished), MAX_BAR + 4)
    bar = max(step - 3, 2)
    plot = HEIGHT - AXIS
    parts = []
    for index, job in enumerate(finished):
        x = index * step
        y = float(plot)
        tip = f"{time_text(job.get('started_on'))} {job.get('job')} {job.get('direction')}: " + ", ".join(
            f"{name} {job.get(name) or 0}" for name in SERIES
        )
        bars = []
        for name in SERIES:
            height = (job.get(name) or 0) / top * (plot - 4)
            if height <= 0:
                continue
            y -= height
            bars.append(
                f'<rect class="{name}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}"/>'
            )
        parts.append(f"<g><title>{esc(tip)}</title>{''.join(bars)}</g>")
    axis = f'<line class="axis" x1="0" y1="{plot}" x2="{WIDTH}" y2="{plot}"/>'
    label = f'<text x="0" y="{HEIGHT - 3}">{len(finished)} jobs, oldest left · highest {top} records</text>'
    legend = "".join(f'<span><i class="{name}-key"></i>{name.title()}</span>' for name in SERIES)
    return (
        f'<svg class="trend" role="img" aria-label="Counters per job" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">{axis}{"".join(parts)}{label}</svg>'
        f'<div class="legend">{legend}</div>'
    )
