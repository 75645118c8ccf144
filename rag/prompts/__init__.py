"""Prompts live in files next to this module, versioned by name (``answer_v1.md``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

FOLDER = Path(__file__).parent


@cache
def load(name: str) -> Template:
    """The prompt ``name`` (e.g. ``"answer_v1"``) as a ``string.Template``."""
    return Template((FOLDER / f"{name}.md").read_text(encoding="utf-8"))
