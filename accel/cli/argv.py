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
from collections.abc import Mapping
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
    pairs = option_pairs(args[1:], _FLAGS, _VALUED)
    if pairs is None:
        return None
    values: dict[str, Any] = {}
    for field, value in pairs:
        if field is None or (field in values and field not in _REPEATED):
            return None  # no positional arguments; single-valued options once
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


def option_pairs(
    args: list[str], flags: Mapping[str, tuple[str, bool]], valued: Mapping[str, str]
) -> list[tuple[str | None, Any]] | None:
    """A plain line's arguments after its command, in order: (field, value) for a flag and for
    an option with its text (`--out x` or `--out=x`), (None, token) for a positional one; None
    where typer must read the line (a short option written `-n=x`, an option without its value,
    a token or value typer might not take as written)."""
    pairs: list[tuple[str | None, Any]] = []
    rest = args
    while rest:
        token, rest = rest[0], rest[1:]
        name, equals, value = token.partition("=")
        if name in flags and not equals:
            pairs.append(flags[name])
            continue
        if name not in valued:
            if not plain_value(token):
                return None
            pairs.append((None, token))
            continue
        if equals and not name.startswith("--"):
            return None
        if not equals:
            if not rest:
                return None
            value, rest = rest[0], rest[1:]
        if not plain_value(value):
            return None
        pairs.append((valued[name], value))
    return pairs


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
