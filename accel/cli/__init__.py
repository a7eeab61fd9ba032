"""The `accel` command line: parse arguments, call the library, write files, set the exit code.

Exit codes: 0 success, 2 bad input (one line on stderr, no traceback), 1 internal error.

Each command imports the library modules it uses when it runs, so `accel --help` or
`accel report` never load numpy, pydantic or the int8 engine, and `simulate-network` without
`--check` never loads the functional stack (`python benchmarks/cli_startup.py` times it).
The modules: `typer_app` (every command with its options and help, loaded on first use; `app`
here is its typer app), `simulate` (a simulate-network run), `tables` (what a run prints),
`commands` (export, networks, validate, schema), `output` (printing).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Callable
from importlib import import_module
from typing import NoReturn

from accel.errors import InputError

# What runs only the timing model: no float GEMM, so numpy's BLAS needs no thread pool.
_MODEL_ONLY = ("simulate-network", "sweep")
# simulate-network options that run the int8 engine or training (float32 GEMMs through BLAS).
_GEMM_OPTIONS = frozenset(("--check", "--training", "--inputs", "--dump"))


def run() -> NoReturn:
    """Entry point of the `accel` console script: `main`, then the process ends without the
    interpreter's teardown.

    At exit Python frees every object one by one: a sweep's memos, a network's tilings and
    schedules; after a 128-point sweep that took ~30 ms of its wall time, after a single run a
    few ms. Here the exit handlers run (they may write: multiprocessing reaps its children),
    stdout and stderr are flushed, and `os._exit` ends the process with `main`'s code. Output
    files are closed before `main` returns (`write_atomically`, the sweep's journal), so nothing
    written is lost. While another thread is alive, or on Ctrl-C, the exit is Python's own.
    `main` is what in-process callers (tests) use: it raises SystemExit instead.
    """
    try:
        main()
        code: object = 0
    except SystemExit as err:
        code = err.code
    # A thread Python's exit would wait for was started through `threading`, so a run that
    # never imported it (a plain simulate-network: 2.6 M instructions saved) has none.
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        sys.exit(code)  # type: ignore[arg-type]
    _exit_now(code)


def _exit_now(code: object) -> NoReturn:
    """What `sys.exit(code)` does at the end of a program, without the teardown."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message on stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: as Python's own exit, status 120
            status = status or 120
    os._exit(status & 0xFF)


def main() -> None:
    """The whole command line, for the `accel` console script (`run`) and in-process callers.

    The last line of defence: bad input is an `InputError` (one line, exit 2); an operating
    system refusal (a full disk, an unreadable file), a recursion or memory limit hit by a
    hostile input are one line and exit 2 too; anything else is an internal error, one line
    and exit 1, with the traceback only under `--debug` (accepted anywhere on the line).
    """
    debug = "--debug" in sys.argv[1:]
    if debug:
        sys.argv = [sys.argv[0], *(arg for arg in sys.argv[1:] if arg != "--debug")]
    # A short-lived process: collect cyclic garbage less often (imports allocate much, free
    # little; `benchmarks/cli_startup.py` times it).
    gc.set_threshold(50_000, 20, 100)
    _one_blas_thread(sys.argv[1:])
    # At exit the interpreter's last collections walk every object left, the imported modules'
    # included; frozen first, they are skipped (a plain VGG16 run: ~55 M fewer instructions).
    # Registered once however often `main` runs in one process (tests), and only run at exit.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    try:
        _run(sys.argv[1:])
    except InputError as err:
        _fail(f"error: {err}", 2)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as err:
        if debug:
            raise
        _fail(*_unexpected(err))


def _one_blas_thread(args: list[str]) -> None:
    """A run of the timing model alone loads numpy's OpenBLAS with one thread.

    OpenBLAS starts its thread pool when numpy is imported; on the 2-core machine that costs a
    VGG16 run ~50 ms of CPU of ~0.27 s (`/usr/bin/time accel simulate-network -n vgg16 -q`
    with and without OPENBLAS_NUM_THREADS=1), and sweep workers would each start one. The
    model's numpy work is integer arithmetic, which never calls BLAS. Runs of the int8 engine
    or training keep BLAS's default, as does a user's own OPENBLAS_NUM_THREADS or
    OMP_NUM_THREADS.
    """
    if not args or args[0] not in _MODEL_ONLY or "numpy" in sys.modules:
        return  # another command, or numpy (and its BLAS) already loaded: nothing to choose
    if any(arg.partition("=")[0] in _GEMM_OPTIONS for arg in args):
        return
    if "OPENBLAS_NUM_THREADS" not in os.environ and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


def _run(args: list[str]) -> None:
    """A plain `simulate-network` or `sweep` line runs without typer (`accel.cli.argv`,
    `accel.cli.sweep_run`); any other line goes to typer (standalone: usage errors print
    themselves, exit 2)."""
    run = _plain_run(args)
    if run is None:
        from accel.cli.typer_app import _only_the_command

        _only_the_command(args)()
        return
    try:
        code = run()
    except KeyboardInterrupt:  # as typer ends a command
        sys.exit(130)
    except EOFError:
        print("\nAborted!", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:  # stdout closed early (`| head`): quiet, exit 1
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    sys.exit(code)


def _plain_run(args: list[str]) -> Callable[[], int] | None:
    """The run of a line read without typer, or None for typer to read it."""
    from accel.cli.argv import simulate_options

    options = simulate_options(args)
    if options is not None:
        from accel.cli.simulate import simulate_network_run

        return lambda: simulate_network_run(options)
    from accel.cli.sweep_run import sweep_options, sweep_run

    sweep = sweep_options(args)
    return None if sweep is None else lambda: sweep_run(sweep)


def _unexpected(err: BaseException) -> tuple[str, int]:
    """(one line, exit code) for an exception no command turned into an InputError."""
    from accel.errors import first_line

    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        return f"error: {where}{err.strerror or first_line(err)}", 2
    if isinstance(err, RecursionError):
        return "error: the input is nested too deeply to read", 2
    if isinstance(err, MemoryError):
        return "error: the input needs more memory than this machine has", 2
    return (
        f"internal error: {type(err).__name__}: {first_line(err)} "
        "(a bug in accel: rerun with --debug for the traceback and report it)", 1,
    )  # fmt: skip


def _fail(message: str, code: int) -> None:
    print(message.replace("\n", " "), file=sys.stderr)
    sys.exit(code)



def __getattr__(name: str) -> object:
    """`app` and `_only_the_command` of `accel.cli.typer_app`, loaded when first asked for."""
    if name in ("app", "_only_the_command"):
        return getattr(import_module("accel.cli.typer_app"), name)
    raise AttributeError(f"module 'accel.cli' has no attribute {name!r}")


if __name__ == "__main__":
    main()
