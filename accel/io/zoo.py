"""The built-in networks' workload files, parsed ahead of time.

Importing PyYAML and parsing a workload file cost more than building its network, so
`zoo.json` beside this module holds every `workloads/*.yaml` already parsed, under its name with
the CRC-32 of the file's bytes. A file whose bytes still match is taken from there; an edited
or added one is parsed as YAML, so the YAML files stay the source. The check guards against
edits, not an adversary: a CRC-32 misses an edit with odds of 2⁻³², and costs nothing at
start-up, where importing `hashlib` loads OpenSSL (11 M instructions of every run's start).
`python tools/gen_zoo.py` rewrites zoo.json (tests/test_zoo.py fails while it is stale).
"""

from __future__ import annotations

import json
import zlib
from functools import cache
from pathlib import Path
from typing import Any

ZOO_JSON = Path(__file__).with_name("zoo.json")


def digest(data: bytes) -> str:
    return f"{zlib.crc32(data):08x}"


@cache
def _parsed() -> dict[str, Any]:
    try:
        entries: dict[str, Any] = json.loads(ZOO_JSON.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing or damaged: every file is parsed as YAML
        return {}
    return entries


def parsed_workload(path: Path) -> dict[str, Any] | None:
    """The parsed contents of the workload file `path` if zoo.json holds these very bytes."""
    entry = _parsed().get(path.stem)
    if entry is None:
        return None
    try:
        current = digest(path.read_bytes())
    except OSError:
        return None
    data: dict[str, Any] = entry["data"]
    return data if entry["crc32"] == current else None
