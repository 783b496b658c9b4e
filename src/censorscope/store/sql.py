"""SQL text the store writes itself, where DuckDB takes no parameters (views, file lists)."""

from __future__ import annotations


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
