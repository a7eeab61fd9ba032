"""Text the CLI prints on stdout: through rich's console, or a plain `print` where that writes
the very same characters (rich is only loaded when a table, colour or wrapping needs it).

rich writes plain text, without styles, when stdout is not a terminal and no variable forces one;
a line then comes out as it was given unless it is wider than the console (rich wraps it), holds
markup other than the `[bold]` tags the CLI writes, an emoji code (`:name:`), control
characters (rich drops some), trailing spaces, or characters rich may count as two cells.
Anything of the kind goes to rich.
"""

from __future__ import annotations

import os
import re
import sys
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# Environment variables with which rich may treat a pipe as a terminal.
_FORCING = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
_EMOJI_CODE = re.compile(r":\S*?:")


def console_width() -> int | None:
    """The console's width: the terminal's (None: rich asks it), else $COLUMNS, else 150."""
    if sys.stdout.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) >= 40 else 150


@cache
def console() -> Console:
    from rich.console import Console

    return Console(width=console_width())


def say(text: str) -> None:
    """Print `text` (which may hold `[bold]` markup) as `console().print` would."""
    plain = text.replace("[bold]", "").replace("[/bold]", "")
    if _prints_as_is(plain):
        sys.stdout.write(plain + "\n")
    else:
        console().print(text)


def _prints_as_is(plain: str) -> bool:
    """Whether rich would write `plain` (markup already removed) unchanged on stdout."""
    width = console_width()
    if width is None or any(name in os.environ for name in _FORCING):
        return False
    if "[" in plain or _EMOJI_CODE.search(plain):
        return False
    encoding = (sys.stdout.encoding or "").lower().replace("-", "").replace("_", "")
    if not plain.isascii() and encoding != "utf8":  # rich explains a failed encode itself
        return False
    for char in plain:  # control characters (rich drops some), combining or wide ones
        if (ord(char) < 0x20 and char != "\n") or 0x7F <= ord(char) < 0xA0 or ord(char) >= 0x300:
            return False
    return all(len(line) < width and not line.endswith(" ") for line in plain.split("\n"))
