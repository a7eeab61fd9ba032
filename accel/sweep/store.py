"""Where sweep results live: an append-only journal of finished points, and the results table.

The journal (`points.jsonl`) gets one JSON line per finished point, written as soon as it
arrives (a killed process, SIGKILL included, keeps it: the kernel has it) and fsynced before the
point is counted as done (a power cut keeps every counted point). A killed sweep loses at most
the points in flight. A rerun
reads it, cuts off a half-written last line, and simulates only the points whose id is missing.
The table (`results.csv` and `results.parquet`, written without pyarrow) is rewritten whole,
atomically, from the journal when every point is done; `sweep.json` says which columns are swept
axes and which are metrics.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from accel.errors import InputError
from accel.io.tables import read_csv
from accel.results import write_atomically
from accel.sweep.parquet import parquet_bytes

JOURNAL = "points.jsonl"
TABLE_CSV = "results.csv"
TABLE_PARQUET = "results.parquet"
METADATA = "sweep.json"


class Journal:
    """The append-only record of finished points; one writer at a time (an advisory lock)."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / JOURNAL
        self._file: IO[str] = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise InputError(
                f"sweep folder must be free, not in use by another accel sweep: {str(out_dir)!r}"
            ) from None

    def read(self) -> dict[str, dict[str, Any]]:
        """Finished points by id; a torn last line (from a kill mid-write) is cut off, and a
        line that is not a record (edited by hand, corrupted) is skipped: its point runs again."""
        self._file.flush()
        raw = self.path.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1]
        if len(complete) != len(raw):
            self._file.truncate(len(complete))
        records: dict[str, dict[str, Any]] = {}
        for line in complete.splitlines():
            try:
                record = json.loads(line.decode("utf-8"))
                point_id = record["id"]
            except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
                continue
            if isinstance(point_id, str):
                records.setdefault(point_id, record)
        return records

    def clear(self) -> None:
        """Forget every finished point (`accel sweep --restart`)."""
        self._file.truncate(0)

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Write finished points: after this returns, killing the process cannot lose them."""
        text = "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records)
        self._file.seek(0, os.SEEK_END)
        self._file.write(text)
        self._file.flush()

    def sync(self) -> None:
        """Make every appended point durable: after this returns, a power cut cannot lose it."""
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()  # closing releases the lock


def parquet_available() -> bool:
    """Whether Parquet tables can be read here (writing needs nothing: `parquet.py`)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def write_table(
    out_dir: Path,
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
    metadata: dict[str, Any],
    created_by: str | None = None,
) -> list[Path]:
    """Write the results table (CSV and Parquet) and sweep.json. `created_by` is the Parquet
    file's writer, `table_writer()` unless the caller has it already (a forked worker works it
    out while it waits for the sweep's plan: importlib.metadata costs ~70 M instructions at the
    sweep's serial end)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    # The rows as lists, a missing cell empty: what csv.DictWriter writes, without its check
    # of each row's keys (~30 % of the table's time; the rows are built with these columns).
    writer.writerows([[row.get(name, "") for name in columns] for row in rows])
    written = [out_dir / TABLE_CSV, out_dir / TABLE_PARQUET]
    write_atomically(written[0], buffer.getvalue())
    values = [[row.get(name) for row in rows] for name in columns]
    tags = {"accel.sweep": json.dumps(metadata)}
    write_atomically(
        written[1], parquet_bytes(columns, values, tags, created_by or table_writer())
    )
    write_atomically(out_dir / METADATA, json.dumps(metadata, indent=2) + "\n")
    return written


def table_writer() -> str:
    """The Parquet file's writer: accel and its installed version."""
    from accel.version import version  # importlib.metadata: only when a table is written

    return f"accel {version()}"


def read_table(path: Path) -> tuple[list[str], list[dict[str, Any]], dict[str, Any]]:
    """Columns, rows and sweep metadata of a results table (a .csv/.parquet file or its folder)."""
    if path.is_dir():
        parquet, table_csv = path / TABLE_PARQUET, path / TABLE_CSV
        path = parquet if parquet.is_file() and parquet_available() else table_csv
    if not path.is_file():
        raise InputError(f"sweep results {str(path)!r} do not exist")
    meta_file = path.with_name(METADATA)
    try:
        metadata = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{meta_file}: must be the JSON accel wrote ({err})") from None
    if path.suffix == ".parquet":
        if not parquet_available():
            raise InputError(f"reading {str(path)!r} needs pyarrow (pip install pyarrow); "
                             f"{TABLE_CSV} beside it holds the same rows")  # fmt: skip
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return list(table.column_names), table.to_pylist(), metadata
    columns, rows = read_csv(path)
    return columns, rows, metadata
