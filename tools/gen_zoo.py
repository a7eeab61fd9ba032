"""Rewrite accel/io/zoo.json: every built-in workload YAML parsed, with its CRC-32.

    python tools/gen_zoo.py

Run it after editing or adding a file in workloads/ (tests/test_zoo.py fails until then); the
JSON must hold exactly what accel's YAML reader makes of each file.
"""

from __future__ import annotations

import json
from pathlib import Path

from accel.io.zoo import ZOO_JSON, digest
from accel.user_input import load_yaml_mapping

WORKLOADS = Path(__file__).resolve().parent.parent / "workloads"


def zoo_entries() -> dict[str, object]:
    return {
        path.stem: {"crc32": digest(path.read_bytes()),
                    "data": load_yaml_mapping(path, "workload")}
        for path in sorted(WORKLOADS.glob("*.yaml"))
    }


if __name__ == "__main__":
    ZOO_JSON.write_text(json.dumps(zoo_entries(), separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {ZOO_JSON}")
