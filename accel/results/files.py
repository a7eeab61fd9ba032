"""The output contract's files: layers.csv, summary.json and chip.yaml written into a folder,
each replaced in one rename; and the folder's name for a network variant."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from accel.errors import InputError
from accel.results.layer import CONTRACT_COLUMNS
from accel.user_input.yaml_dump import dump_yaml_mapping

if TYPE_CHECKING:
    from accel.results.network import NetworkResult

def write_results(result: NetworkResult, out_dir: Path) -> None:
    """Write layers.csv, summary.json and chip.yaml into `out_dir` (created if needed).

    chip.yaml is the chip exactly as simulated (every field), reusable as `--chip`.

    Each file is written beside its final name and renamed into place, so an interrupted run
    never leaves a half-written file over an earlier result.
    """
    prepare_out_dir(out_dir)
    rows = result.rows()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else CONTRACT_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(out_dir / "layers.csv", buffer.getvalue())
    summary = json.dumps(result.summary(), indent=2, allow_nan=False)  # JSON has no inf/NaN
    write_atomically(out_dir / "summary.json", summary + "\n")
    chip_yaml = dump_yaml_mapping(result.chip.model_dump())
    write_atomically(out_dir / "chip.yaml", chip_yaml)


def write_atomically(path: Path, text: str | bytes) -> None:
    """Replace `path` with `text` (bytes as they are, else UTF-8) in one rename; a failed
    write (a full disk, a read-only folder) leaves neither a partial file nor a traceback, but
    a one-line error."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(text if isinstance(text, bytes) else text.encode())
        os.replace(partial, path)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise InputError(f"cannot write {path}: {err.strerror or err}") from None


def safe_name(name: str, fallback: str = "network") -> str:
    """`name` as one safe path component: letters, digits, '.', '_', '-' and '=' kept, every
    other character (a '/', a '?', a '&') one '_'; no leading dot, at most 100 characters. A
    network or sweep named '../../x' therefore writes inside the chosen output folder."""
    cleaned = re.sub(r"[^A-Za-z0-9._=-]", "_", name).lstrip(".")[:100]
    return cleaned or fallback


def variant_name(name: str, params: dict[str, float | int], batch: int) -> str:
    """One network variant as a folder name: NAME, each parameter and a batch above 1
    (mobilenet_v1_alpha=0.5_batch8), so variants do not overwrite each other's outputs."""
    parts = [name, *(f"{key}={value}" for key, value in sorted(params.items()))]
    parts += [f"batch{batch}"] if batch > 1 else []
    return safe_name("_".join(parts))


def prepare_out_dir(out_dir: Path) -> Path:
    """Create the output folder, or a one-line error (a file in the way, no permission)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out must be a folder, not the existing file {str(out_dir)!r}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"--out folder {str(out_dir)!r} cannot be created: "
                         f"{err.strerror or err}") from None  # fmt: skip
    return out_dir
