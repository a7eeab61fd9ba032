"""Did a change move any number? A digest of `layers.csv` for zoo networks on the shipped chips.

    python benchmarks/results_digest.py                      # this checkout
    python benchmarks/results_digest.py --checkout ../old    # another checkout, to compare
    python benchmarks/results_digest.py --exclude issued_macs   # without a column one side lacks

Runs `accel simulate-network` of the given checkout in a fresh interpreter for each network ×
chip and prints the SHA-256 of each `layers.csv` (every per-layer figure the contract holds:
cycles, traffic, tiling, energy), then one digest over all of them. Two checkouts that print the
same final digest computed the same numbers on every layer. `--exclude COLUMN` (repeatable)
drops a column from every layers.csv before hashing (a column that is absent is ignored, and
with nothing dropped the file is re-written byte for byte), so a checkout that adds a column
can be compared with one that does not have it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NETWORKS = ("resnet50", "mobilenet_v2", "googlenet", "vgg16", "mobilenet_v3_small")
CHIPS = ("configs/default.yaml", "configs/eyeriss_like.yaml", "configs/tpu_v1_like.yaml")
# The console script's entry (`run`; `main` in checkouts from before it was added).
CLI = "import sys; from accel import cli; sys.argv[0] = 'accel'; getattr(cli, 'run', cli.main)()"


def without(text: str, excluded: tuple[str, ...]) -> bytes:
    """`text` (a CSV file) without the `excluded` columns, written as `csv` writes it."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    keep = [i for i, name in enumerate(rows[0]) if name not in excluded] if rows else []
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([row[i] for i in keep] for row in rows)
    return buffer.getvalue().encode()


def digest(checkout: Path, network: str, chip: str, scratch: Path,
           excluded: tuple[str, ...] = ()) -> str:  # fmt: skip
    out = scratch / f"{network}-{Path(chip).stem}"
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    command = [sys.executable, "-c", CLI, "simulate-network", "-n", network, "-c",
               str(checkout / chip), "--out", str(out), "-q"]  # fmt: skip
    subprocess.run(command, cwd=checkout, env=env, check=True, capture_output=True)
    data = (out / "layers.csv").read_bytes()
    if excluded:
        data = without(data.decode(), excluded)
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=REPO)
    parser.add_argument("--exclude", action="append", default=[], metavar="COLUMN",
                        help="drop this layers.csv column before hashing (repeatable)")
    args = parser.parse_args()
    checkout, excluded = args.checkout.resolve(), tuple(args.exclude)
    overall = hashlib.sha256()
    with tempfile.TemporaryDirectory() as scratch:
        for chip in CHIPS:
            for network in NETWORKS:
                value = digest(checkout, network, chip, Path(scratch), excluded)
                overall.update(value.encode())
                print(f"{network:20} {Path(chip).stem:14} {value[:16]}")
    dropped = f", without {', '.join(excluded)}" if excluded else ""
    print(f"all: {overall.hexdigest()[:16]} ({checkout}{dropped})")


if __name__ == "__main__":
    main()
