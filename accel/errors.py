"""Errors a user can fix.

`InputError` is the single exception type for bad input: a malformed chip config, a workload
that does not fit together, an unknown network, an unsupported model operator. The CLI prints its
message as one line on stderr and exits with code 2; anything else that escapes is an internal
error (exit code 1).
"""

from __future__ import annotations

from collections.abc import Iterable


class InputError(ValueError):
    """Bad user input; the message is one line naming the place, the rule and the value.

    `all_errors` holds one such line per problem when several were found at once (a config
    with two bad fields); the message itself names the first and counts the rest.
    """

    def __init__(self, message: str, all_errors: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.all_errors = all_errors or (message,)


def closest(name: str, choices: Iterable[str]) -> str:
    """Return a ` (did you mean 'x'?)` hint for a misspelt name, or an empty string."""
    import difflib  # loaded by the first misspelling, not by every run

    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def first_line(error: BaseException, limit: int = 240) -> str:
    """A third-party exception as one short line: its first line, cut at `limit` characters
    (onnxruntime lists every missing input in one line; a message must stay readable)."""
    line = (str(error).splitlines() or [type(error).__name__])[0].strip() or type(error).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"
