"""Did a change move any number? A digest of `layers.csv` for zoo networks on the shipped chips.

    python benchmarks/results_digest.py                      # this checkout
    python benchmarks/results_digest.py --checkout ../old    # another checkout, to compare

Runs `accel simulate-network` of the given checkout in a fresh interpreter for each network ×
chip and prints the SHA-256 of each `layers.csv` (every per-layer figure the contract holds:
cycles, traffic, tiling, energy), then one digest over all of them. Two checkouts that print the
same final digest computed the same numbers on every layer.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NETWORKS = ("resnet50", "mobilenet_v2", "googlenet", "vgg16", "mobilenet_v3_small")
CHIPS = ("configs/default.yaml", "configs/eyeriss_like.yaml", "configs/tpu_v1_like.yaml")
CLI = "import sys; from accel.cli import main; sys.argv[0] = 'accel'; main()"


def digest(checkout: Path, network: str, chip: str, scratch: Path) -> str:
    out = scratch / f"{network}-{Path(chip).stem}"
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    command = [sys.executable, "-c", CLI, "simulate-network", "-n", network, "-c",
               str(checkout / chip), "--out", str(out), "-q"]  # fmt: skip
    subprocess.run(command, cwd=checkout, env=env, check=True, capture_output=True)
    return hashlib.sha256((out / "layers.csv").read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=REPO)
    checkout = parser.parse_args().checkout.resolve()
    overall = hashlib.sha256()
    with tempfile.TemporaryDirectory() as scratch:
        for chip in CHIPS:
            for network in NETWORKS:
                value = digest(checkout, network, chip, Path(scratch))
                overall.update(value.encode())
                print(f"{network:20} {Path(chip).stem:14} {value[:16]}")
    print(f"all: {overall.hexdigest()[:16]} ({checkout})")


if __name__ == "__main__":
    main()
