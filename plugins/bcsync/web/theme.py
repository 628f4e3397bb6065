"""Airflow's look for bcsync's pages, and links that open Airflow's pages in the top window.

Airflow 3 shows a plugin's external view in a same-origin iframe of its React UI (Chakra UI v3). The
pages take Airflow's theme from the frame's parent: Chakra publishes every design token as a CSS
variable on the parent's <html> (`--chakra-colors-bg`, `--chakra-fonts-body`, ...), already resolved
for the light or dark mode the user chose, so the script copies those it uses and copies them again
when the user switches the mode. Opened on its own (no parent), a page falls back to the same
palette and follows the system's light/dark preference.

Links to Airflow's own pages must not open a second Airflow UI inside the frame. The frame is
sandboxed without `allow-top-navigation`, so it cannot navigate the top window; being same-origin it
can ask the parent's router instead: push the URL onto the parent's history and send it a `popstate`,
which is how React Router learns of a navigation. Outside a frame the link is a normal link.
"""

from __future__ import annotations

import functools
import json
from html import escape
from pathlib import Path

# The Chakra tokens the CSS below uses, copied from Airflow's document.
CHAKRA_TOKENS = (
    "colors-bg",
    "colors-bg-subtle",
    "colors-bg-muted",
    "colors-bg-panel",
    "colors-bg-error",
    "colors-bg-success",
    "colors-bg-warning",
    "colors-fg",
    "colors-fg-muted",
    "colors-fg-error",
    "colors-fg-success",
    "colors-fg-warning",
    "colors-fg-info",
    "colors-border",
    "colors-border-emphasized",
    "colors-brand-solid",
    "colors-brand-contrast",
    "colors-brand-fg",
    "colors-brand-subtle",
    "colors-success-solid",
    "colors-info-solid",
    "colors-danger-solid",
    "colors-failed-solid",
    "colors-warning-solid",
    "fonts-body",
    "fonts-heading",
    "fonts-mono",
)

STATIC = Path(__file__).with_name("static")


@functools.cache
def css() -> str:
    return (STATIC / "theme.css").read_text(encoding="utf-8")


@functools.cache
def script_tag() -> str:
    """The theme's script, inline (it runs before the body is drawn: no flash of the wrong theme)."""
    script = (STATIC / "theme.js").read_text(encoding="utf-8")
    tokens = escape(json.dumps(CHAKRA_TOKENS), quote=True)
    return f'<script data-tokens="{tokens}">{script}</script>'
