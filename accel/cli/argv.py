"""The fast path of `accel simulate-network`: a plain command line read without typer.

Building the typer app (and importing typer and click) costs more than a small simulation, so
`accel.cli.main` reads a plain `simulate-network` line here: each option written out
(`--batch 8`, `--batch=8`, `-n vgg16`), with a value that cannot be mistaken for another option,
each single-valued option once. Whatever this reader is not sure of — `--help`, an unknown or
misspelt option, a missing or odd value (`--batch 0`, `--batch " 8"`, `-nvgg16`, `--out ""`),
a repeated option, a shell completion request — it leaves to typer (returns None), which then
parses the whole line, so help, usage errors and their exit codes stay typer's own.
`tests/test_cli_argv.py` checks that both read every line alike.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from accel.cli.simulate import SimulateOptions

COMMAND = "simulate-network"
MAX_BATCH = 4096  # the --batch range typer checks: 1..4096

# Command-line name → SimulateOptions field, for options that take a value.
_VALUED = {
    "--network": "network", "-n": "network",
    "--chip": "chip", "-c": "chip",
    "--batch": "batch",
    "--param": "param", "-p": "param",
    "--out": "out",
    "--columns": "columns",
    "--timeline": "timeline",
    "--input-shape": "input_shape",
    "--report-timeline": "report_timeline",
    "--inputs": "inputs",
    "--dump": "dump",
    "--optimizer": "optimizer",
    "--residency": "residency",
    "--fusion": "fusion",
}  # fmt: skip
# Flags: command-line name → (field, value it sets).
_FLAGS = {
    "--quiet": ("quiet", True), "-q": ("quiet", True),
    "--json": ("as_json", True),
    "--training": ("training", True),
    "--allow-unsupported": ("allow_unsupported", True),
    "--no-allow-unsupported": ("allow_unsupported", False),
    "--report": ("report", True), "--no-report": ("report", False),
    "--check": ("check", True), "--no-check": ("check", False),
}  # fmt: skip
_PATHS = frozenset(("chip", "out", "timeline", "inputs", "dump"))
_REPEATED = frozenset(("param", "columns", "input_shape"))  # may be given again: they add up


def simulate_options(args: list[str]) -> SimulateOptions | None:
    """The options of a plain `simulate-network ...` line (`args` without the program name),
    or None for anything else (another command, help, an error): typer's to read."""
    if args[:1] != [COMMAND] or typer_acts_alone():
        return None
    values: dict[str, Any] = {}
    rest = args[1:]
    while rest:
        token, rest = rest[0], rest[1:]
        name, equals, value = token.partition("=")
        if name in _FLAGS and not equals:
            field, flag = _FLAGS[name]
            if field in values:
                return None
            values[field] = flag
            continue
        if name not in _VALUED or (equals and not name.startswith("--")):
            return None
        if not equals:
            if not rest:
                return None
            value, rest = rest[0], rest[1:]
        field = _VALUED[name]
        if not plain_value(value) or (field in values and field not in _REPEATED):
            return None
        if field in _REPEATED:
            values[field] = (*values.get(field, ()), value)
        elif field == "batch":
            if not value.isdigit() or not 1 <= int(value) <= MAX_BATCH:
                return None
            values[field] = int(value)
        else:
            values[field] = Path(value) if field in _PATHS else value
    if "network" not in values:
        return None
    return SimulateOptions(**values)


def typer_acts_alone() -> bool:
    """Whether typer would do something of its own with any line: answer a shell completion
    request (a `_<PROG>_COMPLETE` variable) or, on Windows, expand wildcards in the arguments."""
    return os.name == "nt" or any(
        name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ
    )


def plain_value(value: str) -> bool:
    """A value typer reads as written: not empty, not like an option, ASCII digits only if a
    number (`str.isdigit` takes other scripts' digits too)."""
    return value != "" and not value.startswith("-") and value.isascii()
