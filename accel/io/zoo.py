"""The built-in networks' workload files, parsed ahead of time.

Importing PyYAML and parsing a workload file cost more than building its network, so
`zoo.json` beside this module holds every `workloads/*.yaml` already parsed, under its name with
the SHA-256 of the file's bytes. A file whose bytes still match is taken from there; an edited
or added one is parsed as YAML, so the YAML files stay the source. `python tools/gen_zoo.py`
rewrites zoo.json (tests/test_zoo.py fails while it is stale).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

ZOO_JSON = Path(__file__).with_name("zoo.json")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
    return data if entry["sha256"] == current else None
