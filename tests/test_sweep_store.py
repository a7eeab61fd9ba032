"""The journal survives kills; the results table reads back the same from CSV and Parquet."""

from __future__ import annotations

import io
import json
import math
import random
from pathlib import Path

import pytest

from accel.errors import InputError
from accel.sweep.parquet import parquet_bytes
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
@pytest.mark.parametrize("rows", [500, 2, 7, 8, 9, 16])
def test_pyarrow_reads_the_parquet_file_as_its_own_table_of_the_columns(rows: int) -> None:
    """Every kind of column, nulls at every position of the definition levels' bytes, lists
    of 15 and more items in the footer: pyarrow reads what `parquet_bytes` writes as the table
    it builds from the same Python lists (ints beside floats as floats, mixed kinds as text)."""
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(rows)
    floats = [rng.random() * 10.0 ** rng.randint(-300, 300) for _ in range(rows)]
    columns = {
        "int": [None if i % 5 == 3 else i - 2**62 * (i % 3) for i in range(rows)],
        "float": [math.inf if i == 2 else -math.inf if i == 4 else f for i, f in enumerate(floats)],
        "mixed": [i if i % 3 else i / 7 for i in range(rows)],
        "text": [None if i % 4 else f'a "quoted", {i}\n line é' for i in range(rows)],
        "empty_text": ["" if i % 2 else "x" for i in range(rows)],
        "text_and_number": ["x" if i % 2 else i for i in range(rows)],
        "flag": [None if i % 7 == 6 else bool(i % 2) for i in range(rows)],
        "flag_and_number": [True if i % 2 else i for i in range(rows)],
        "huge": [2**70 + i for i in range(rows)],
        "nothing": [None] * rows,
        **{f"padding {i}": list(range(rows)) for i in range(12)},
    }
    text = {"mixed": float, "text_and_number": str, "flag_and_number": str, "huge": str}
    want = pa.table({
        name: pa.array([None if v is None or name not in text else text[name](v)
                        for v in values] if name in text else values)
        for name, values in columns.items()
    })  # fmt: skip
    meta = {"accel.sweep": json.dumps({"name": "t"})}
    got = pq.read_table(io.BytesIO(parquet_bytes(list(columns), list(columns.values()), meta, "t")))
    assert got.schema.metadata == {b"accel.sweep": meta["accel.sweep"].encode()}
    assert got.replace_schema_metadata(None).equals(want)
    nan = pq.read_table(io.BytesIO(parquet_bytes(["nan"], [[math.nan, 1.0]], {}, "t")))
    assert math.isnan(nan.column(0)[0].as_py()) and nan.column(0)[1].as_py() == 1.0


@pytest.mark.skipif(not parquet_available(), reason="pyarrow is not installed (the parquet extra)")
def test_a_parquet_table_of_one_row_or_none_reads_back() -> None:
    import pyarrow.parquet as pq

    names = ["n", "x", "s", "b", "none"]
    one = pq.read_table(io.BytesIO(parquet_bytes(names, [[1], [0.5], ["é"], [True], [None]],
                                                 {}, "t")))  # fmt: skip
    assert one.to_pylist() == [{"n": 1, "x": 0.5, "s": "é", "b": True, "none": None}]
    empty = pq.read_table(io.BytesIO(parquet_bytes(names, [[]] * 5, {}, "t")))
    assert (empty.num_rows, empty.column_names) == (0, names)


def test_writing_the_tables_imports_neither_pyarrow_nor_pandas(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from accel.sweep.store import write_table; "
            f"write_table(Path({str(tmp_path)!r}), ['a', 'b'], [{{'a': 1, 'b': 'x'}}], {{}}); "
            "print('pandas' in sys.modules, 'pyarrow' in sys.modules)")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False False", result.stderr
    assert (tmp_path / "results.parquet").read_bytes()[:4] == b"PAR1"


def test_a_parquet_table_without_pyarrow_names_the_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accel.sweep import store

    write_table(tmp_path, COLUMNS, ROWS, {"name": "t"})
    monkeypatch.setattr(store, "parquet_available", lambda: False)
    assert read_table(tmp_path)[1] == read_table(tmp_path / "results.csv")[1]  # the folder: CSV
    with pytest.raises(InputError, match=r"needs pyarrow .*results\.csv beside it"):
        read_table(tmp_path / "results.parquet")


def test_definition_levels_pack_the_first_flag_in_the_lowest_bit() -> None:
    """`_bits` against the packing written out flag by flag (pyarrow, when installed, reads
    them too: the Parquet tests above)."""
    from accel.sweep.parquet import _bits

    def packed(flags: list[bool]) -> bytes:
        out = bytearray((len(flags) + 7) // 8)
        for index, flag in enumerate(flags):
            out[index // 8] += flag << (index % 8)
        return bytes(out)

    rng = random.Random(14)
    for length in range(0, 40):
        for _ in range(8):
            flags = [rng.random() < 0.7 for _ in range(length)]
            assert _bits(flags) == packed(flags)
    assert _bits([True, False, False, False, False, False, False, False, True]) == b"\x01\x01"
    assert _bits([]) == b"" and _bits([False] * 9) == b"\x00\x00"
