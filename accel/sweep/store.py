"""Where sweep results live: an append-only journal of finished points, and the results table.

The journal (`points.jsonl`) gets one JSON line per finished point, written as soon as it
arrives (a killed process, SIGKILL included, keeps it: the kernel has it) and fsynced before the
point is counted as done (a power cut keeps every counted point). A killed sweep loses at most
the points in flight. A rerun
reads it, cuts off a half-written last line, and simulates only the points whose id is missing.
The table (`results.csv`, plus `results.parquet` when pyarrow is installed) is rewritten whole,
atomically, from the journal when every point is done; `sweep.json` says which columns are swept
axes and which are metrics.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import math
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from accel.errors import InputError
from accel.io.tables import read_csv
from accel.results import write_atomically

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
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def preload_table_writer() -> threading.Thread:
    """Import the Parquet writer's modules in a thread (~0.18 s CPU at the end of every sweep
    otherwise): the sweep's process then imports them while it waits for its workers or the
    disk. Start it once the workers run: a process forked while a thread imports can deadlock."""

    def load() -> None:
        with contextlib.suppress(ImportError):
            import pyarrow.json
            import pyarrow.parquet  # noqa: F401

    thread = threading.Thread(target=load, name="accel-table-import", daemon=True)
    thread.start()
    return thread


def write_table(
    out_dir: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]], metadata: dict[str, Any]
) -> list[Path]:
    """Write the results table (CSV always, Parquet when pyarrow is installed) and sweep.json."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    written = [out_dir / TABLE_CSV]
    write_atomically(written[0], buffer.getvalue())
    if parquet_available():
        written.append(_write_parquet(out_dir / TABLE_PARQUET, columns, rows, metadata))
    write_atomically(out_dir / METADATA, json.dumps(metadata, indent=2) + "\n")
    return written


def _write_parquet(
    path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]], metadata: dict[str, Any]
) -> Path:
    import pyarrow.parquet as pq

    table = _arrow_table(columns, [_uniform([row.get(name) for row in rows]) for name in columns])
    table = table.replace_schema_metadata({"accel.sweep": json.dumps(metadata)})
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial)
    os.replace(partial, path)
    return path


def _arrow_table(columns: Sequence[str], values: Sequence[list[Any]]) -> Any:
    """The columns as an Arrow table, read by pyarrow's JSON reader with each column's type
    given: `pa.array` on Python lists imports pandas when it is installed (~0.3 s, most of the
    time of writing a sweep's table), the reader does not, and gives the same table. Columns
    of mixed kinds or non-finite floats, which JSON cannot carry exactly, go through `pa.array`."""
    import pyarrow as pa
    import pyarrow.json as arrow_json

    arrow_types = {frozenset(): pa.null(), frozenset({bool}): pa.bool_(),
                   frozenset({int}): pa.int64(), frozenset({float}): pa.float64(),
                   frozenset({str}): pa.string()}  # fmt: skip
    kinds = [frozenset(type(v) for v in column if v is not None) for column in values]
    finite = all(math.isfinite(v) for column in values for v in column if type(v) is float)
    typed = all(kind in arrow_types for kind in kinds) and len(set(columns)) == len(columns)
    if not (finite and typed and values and values[0]):
        arrays = [pa.array(column) for column in values]
        return pa.Table.from_arrays(arrays, names=list(columns))
    schema = pa.schema([(name, arrow_types[kind])
                        for name, kind in zip(columns, kinds, strict=True)])  # fmt: skip
    rows = zip(*values, strict=True)
    text = "".join(json.dumps(dict(zip(columns, row, strict=True))) + "\n" for row in rows)
    options = arrow_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    table = arrow_json.read_json(io.BytesIO(text.encode()), parse_options=options)
    return table.combine_chunks()


def _uniform(values: list[Any]) -> list[Any]:
    """One type per column: ints become floats beside floats, anything beside text becomes text."""
    kinds = {type(v) for v in values if v is not None}
    if str in kinds and len(kinds) > 1:
        return [None if v is None else str(v) for v in values]
    if float in kinds and int in kinds:
        return [None if v is None else float(v) for v in values]
    return values


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
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return list(table.column_names), table.to_pylist(), metadata
    columns, rows = read_csv(path)
    return columns, rows, metadata
