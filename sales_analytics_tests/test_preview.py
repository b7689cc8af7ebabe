"""The Markdown preview of a raw table's first rows."""

from __future__ import annotations

import polars as pl

from sales_analytics.core.preview import markdown_preview


def test_preview_is_a_markdown_table_of_the_first_rows() -> None:
    frame = pl.DataFrame({"id": [1, 2, 3], "title": ["a", "b", "c"]})

    lines = markdown_preview(frame, rows=2).splitlines()

    assert lines == [
        "| id | title |",
        "| --- | --- |",
        "| 1 | a |",
        "| 2 | b |",
        "",
        "First 2 of 3 rows.",
    ]


def test_cells_cannot_break_the_table() -> None:
    frame = pl.DataFrame({"title": ["a | b\nc", None, "x" * 60]})

    lines = markdown_preview(frame, max_chars=10).splitlines()

    assert lines[2] == "| a \\| b c |"
    assert lines[3] == "|  |"
    assert lines[4] == "| xxxxxxxxx… |"


def test_empty_frame_has_header_and_count() -> None:
    preview = markdown_preview(pl.DataFrame({"id": []}, schema={"id": pl.Int64}))

    assert preview.splitlines()[0] == "| id |"
    assert preview.endswith("First 0 of 0 rows.")
