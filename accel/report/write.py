"""The HTML report of a simulation folder or of a sweep's results, chosen from the files found
(`accel report PATH` calls `write_report`)."""

from __future__ import annotations

from pathlib import Path

from accel.errors import InputError


def write_report(path: Path, out: Path | None = None) -> Path:
    """Decide from the files present whether `path` is one run or a sweep, and report it."""
    # Imported here, not at the top: `accel --help` registers the command without loading them.
    from accel.report.run_report import write_run_report
    from accel.report.sweep_report import write_sweep_report
    from accel.sweep.store import TABLE_CSV, TABLE_PARQUET

    if path.is_dir() and (path / "summary.json").is_file():
        report = write_run_report(path)
        if out is not None:
            report.replace(out)
            return out
        return report
    is_table = path.is_file() and path.suffix in (".csv", ".parquet")
    if is_table or (path / TABLE_CSV).is_file() or (path / TABLE_PARQUET).is_file():
        return write_sweep_report(path, out)
    raise InputError(
        f"report path must be a folder with summary.json, a sweep folder or a results table, "
        f"not {str(path)!r}"
    )
