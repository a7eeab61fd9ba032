"""Wall time of the `accel` command: interpreter start, imports, and one small command.

Each command runs --repeat times in a fresh Python process (as a user's shell would run it);
the script prints the median and the best wall time. The gap between `import accel.cli` and the
simulate-network command is the work itself; the import line is what every command pays first.
Bytecode is cached (in a temporary folder, after one warm-up run) as it is for an installed
package, even where PYTHONDONTWRITEBYTECODE is set; --cold compiles every module from source
each time instead. --checkout times another checkout's accel (e.g. the commit before a change,
`git archive COMMIT | tar -x -C ../accel-before`) with this same script.

    python benchmarks/cli_startup.py
    python benchmarks/cli_startup.py --repeat 20 --checkout ../accel-before

Where the import time goes: `python -X importtime -c "import accel.cli" 2>&1 | sort -t'|' -k2 -n`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
CLI = "from accel.cli import main; main()"


def wall_seconds(argv: list[str], checkout: Path, env: dict[str, str], repeat: int) -> list[float]:
    # The working directory comes first on sys.path, so `checkout`'s accel is the one imported.
    subprocess.run(argv, cwd=checkout, env=env, check=True, capture_output=True)  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, cwd=checkout, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--checkout", type=Path, default=CHECKOUT, help="accel checkout to time")
    parser.add_argument("--cold", action="store_true", help="no bytecode cache")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as pycache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        if args.cold:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import accel": [sys.executable, "-c", "import accel"],
            "import accel.cli": [sys.executable, "-c", "import accel.cli"],
            "accel --help": [sys.executable, "-c", CLI, "--help"],
            "accel simulate-network -n vgg16 -q": [
                sys.executable, "-c", CLI, "simulate-network", "-n", "vgg16", "-q", "--out", out,
            ],
        }  # fmt: skip
        cache = "no bytecode cache" if args.cold else "bytecode cached"
        print(f"{args.checkout.resolve()} ({cache}): wall time of a fresh process, "
              f"{args.repeat} runs each")
        print(f"{'command':40s} {'median ms':>10s} {'best ms':>9s}")
        for label, argv in commands.items():
            times = wall_seconds(argv, args.checkout, env, args.repeat)
            print(f"{label:40s} {statistics.median(times) * 1e3:10.1f} {min(times) * 1e3:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
