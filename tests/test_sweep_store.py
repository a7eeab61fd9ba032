"""The journal survives kills; the results table reads back the same from CSV and Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accel.errors import InputError
from accel.sweep.store import Journal, parquet_available, read_table, write_table


def test_journal_cuts_a_torn_last_line(tmp_path: Path) -> None:
    whole = json.dumps({"id": "a", "status": "ok", "error": ""}) + "\n"
    (tmp_path / "points.jsonl").write_text(whole + '{"id": "b", "sta')  # killed mid-write
    journal = Journal(tmp_path)
    assert list(journal.read()) == ["a"]
    journal.append([{"id": "b", "status": "ok", "error": ""}])
    journal.close()
    lines = (tmp_path / "points.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b"]


def test_journal_keeps_the_first_record_of_an_id(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append([{"id": "a", "status": "ok", "error": ""}])
    journal.append([{"id": "a", "status": "error", "error": "late"}])
    assert journal.read() == {"a": {"id": "a", "status": "ok", "error": ""}}
    journal.clear()
    assert journal.read() == {}
    journal.close()


def test_one_writer_per_folder(tmp_path: Path) -> None:
    first = Journal(tmp_path)
    with pytest.raises(InputError, match=r"sweep folder must be free, not in use by another accel sweep"):
        Journal(tmp_path)
    first.close()
    Journal(tmp_path).close()  # the lock goes with the writer


ROWS = [
    {"point": 0, "network": "lenet5", "array.rows": 8, "clock_mhz": 500, "latency_ms": 0.5, "status": "ok", "error": None},
    {"point": 1, "network": "lenet5", "array.rows": 16, "clock_mhz": 612.5, "latency_ms": None, "status": "error", "error": "chip: bad"},
]
COLUMNS = list(ROWS[0])


def test_csv_table_reads_back_typed(tmp_path: Path) -> None:
    meta = {"name": "t", "axes": ["array.rows", "clock_mhz"], "metrics": ["latency_ms"]}
    written = write_table(tmp_path, COLUMNS, ROWS, meta)
    assert written[0] == tmp_path / "results.csv"
    columns, rows, metadata = read_table(tmp_path / "results.csv")
    assert (columns, metadata) == (COLUMNS, meta)
    assert rows[0] == ROWS[0]
    assert rows[1]["latency_ms"] is None and rows[1]["clock_mhz"] == 612.5


@pytest.mark.skipif(not parquet_available(), reason="pyarrow is not installed (the parquet extra)")
def test_parquet_table_has_one_type_per_column(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    write_table(tmp_path, COLUMNS, ROWS, {"name": "t"})
    table = pq.read_table(tmp_path / "results.parquet")
    assert str(table.schema.field("clock_mhz").type) == "double"  # 500 beside 612.5
    assert json.loads(table.schema.metadata[b"accel.sweep"]) == {"name": "t"}
    columns, rows, _ = read_table(tmp_path)  # the folder: Parquet preferred
    assert columns == COLUMNS
    assert rows[1] == {**ROWS[1], "clock_mhz": 612.5}
    assert rows[0]["clock_mhz"] == 500.0


def test_missing_table_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"sweep results .* do not exist"):
        read_table(tmp_path / "results.csv")


@pytest.mark.skipif(not parquet_available(), reason="pyarrow is not installed (the parquet extra)")
def test_the_arrow_table_equals_pyarrows_own_from_python_lists() -> None:
    """The table read from the rows' JSON (no pandas import) equals `pa.array` of each column,
    for every kind of column, and columns JSON cannot carry exactly take `pa.array` itself."""
    import random

    import pyarrow as pa

    from accel.sweep.store import _arrow_table, _uniform

    rng = random.Random(3)
    floats = [rng.random() * 10.0 ** rng.randint(-300, 300) for _ in range(500)]
    columns = {
        "int": list(range(500)),
        "float": floats,
        "mixed": _uniform([i if i % 3 else i / 7 for i in range(500)]),
        "text": [None if i % 4 else f'a "quoted", {i}\n line' for i in range(500)],
        "empty_text": ["" if i % 2 else "x" for i in range(500)],
        "text_and_number": _uniform(["x" if i % 2 else i for i in range(500)]),
        "flag": [bool(i % 2) for i in range(500)],
        "nothing": [None] * 500,
    }
    want = pa.Table.from_arrays([pa.array(v) for v in columns.values()], names=list(columns))
    assert _arrow_table(list(columns), list(columns.values())).equals(want)
    odd = {"inf": [1.0, float("inf")], "minus_inf": [float("-inf"), None]}
    for name, column in odd.items():
        got = _arrow_table([name], [column])
        assert got.equals(pa.Table.from_arrays([pa.array(column)], names=[name]))


@pytest.mark.skipif(not parquet_available(), reason="pyarrow is not installed (the parquet extra)")
def test_writing_the_parquet_table_does_not_import_pandas(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from accel.sweep.store import write_table; "
            f"write_table(Path({str(tmp_path)!r}), ['a', 'b'], [{{'a': 1, 'b': 'x'}}], {{}}); "
            "print('pandas' in sys.modules)")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
    assert (tmp_path / "results.parquet").is_file()
