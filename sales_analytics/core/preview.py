"""A Markdown table of a frame's first rows, for the asset's page in the UI (no Dagster here)."""

from __future__ import annotations

import polars as pl

PREVIEW_ROWS = 5
MAX_CELL_CHARS = 40


def _cell(value: object, max_chars: int) -> str:
    text = "" if value is None else str(value)
    # A pipe would end the cell and a newline the row.
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def markdown_preview(
    frame: pl.DataFrame, rows: int = PREVIEW_ROWS, max_chars: int = MAX_CELL_CHARS
) -> str:
    """The first `rows` rows as a Markdown table, long cells cut to `max_chars`, with a line
    saying how many rows the frame has in all."""
    header = "| " + " | ".join(_cell(name, max_chars) for name in frame.columns) + " |"
    divider = "|" + "|".join(" --- " for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(_cell(value, max_chars) for value in row) + " |"
        for row in frame.head(rows).iter_rows()
    ]
    shown = min(rows, frame.height)
    caption = f"First {shown} of {frame.height:,} rows."
    return "\n".join([header, divider, *body, "", caption])
