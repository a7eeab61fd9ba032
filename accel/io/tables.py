"""Reading accel's CSV outputs back (layers.csv, a sweep's results.csv) with typed cells.

CSV keeps no types, so each cell is parsed back: empty → None, integers, floats, True/False,
anything else stays text. Columns are taken as they come, so readers tolerate columns added by
later versions.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from accel.errors import InputError


def read_csv(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Column names and typed rows of a CSV file with a header line."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            rows = [{key: parse_cell(value) for key, value in row.items()} for row in reader]
            return list(reader.fieldnames or []), rows
    except (UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"{path}: must be a UTF-8 CSV written by accel ({err})") from None


def parse_cell(text: str | None) -> Any:
    """One CSV cell back to a Python value."""
    if text is None or text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
