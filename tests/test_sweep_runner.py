"""Running sweeps: failures recorded, resume after SIGKILL, the same table from every executor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, run_accel

from accel.sweep.executors import LocalExecutor, SerialExecutor
from accel.sweep.plan import SweepPlan, load_plan
from accel.sweep.runner import run_sweep
from accel.sweep.store import parquet_available, table_writer

# Several axes in every section, two networks, two batch sizes, and 96 of the 288 points failing
# (array.cols = 0 is not a valid chip): a few seconds of work.
SWEEP = """
name: resume
networks: [lenet5, "mobilenet_v2?resolution=32"]
batch: [1, 2]
grid:
  array.rows: [8, 32]
  array.dataflow: [os, ws, is]
  array.fold_overlap: [false, true]
zip:
  array.cols: [8, 64, 0]
  dram.bandwidth_bytes_per_cycle: [4, 32, 16]
random:
  samples: 2
  seed: 5
  axes: {clock_mhz: {min: 200, max: 1000}}
constraints: ["array.rows * array.cols <= 2048"]
metrics: [latency_ms, energy_uj, utilization, stall_cycles, dram_read_bytes]
"""
TOTAL = 288  # per network, batch, sample, overlap and dataflow: 2 rows × 3 (cols, bandwidth) pairs
FAILED = 96  # 2 rows × 3 dataflows × 2 overlaps × 2 samples × 2 batches × 2 networks


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sweep file and its table from one uninterrupted serial run in this process."""
    folder = tmp_path_factory.mktemp("reference")
    sweep = folder / "sweep.yaml"
    sweep.write_text(SWEEP)
    outcome = run_sweep(load_plan(sweep), folder / "out", SerialExecutor())
    assert (outcome.points, outcome.simulated, outcome.reused) == (TOTAL, TOTAL, 0)
    assert outcome.failed == FAILED
    return sweep, folder / "out"


def assert_same_tables(got: Path, want: Path) -> None:
    assert (got / "results.csv").read_bytes() == (want / "results.csv").read_bytes()
    assert (got / "sweep.json").read_text() == (want / "sweep.json").read_text()
    if parquet_available():
        import pyarrow.parquet as pq

        assert pq.read_table(got / "results.parquet").equals(pq.read_table(want / "results.parquet"))


def journal_ids(folder: Path) -> list[str]:
    text = (folder / "points.jsonl").read_text()
    return [json.loads(line)["id"] for line in text.splitlines()]


def test_table_rows_and_failures(reference: tuple[Path, Path]) -> None:
    lines = (reference[1] / "results.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:4] == ["point", "point_id", "network", "batch"]
    assert header[4:11] == [
        "array.rows", "array.dataflow", "array.fold_overlap", "array.cols",
        "dram.bandwidth_bytes_per_cycle", "clock_mhz", "pe_count",
    ]
    assert header[-2:] == ["status", "error"]
    rows = [dict(zip(header, line.split(",", len(header) - 1), strict=True)) for line in lines[1:]]
    assert [int(row["point"]) for row in rows] == list(range(TOTAL))
    failed = [row for row in rows if row["status"] == "error"]
    assert {row["array.cols"] for row in failed} == {"0"}
    assert all("array.cols must be > 0, not 0" in row["error"] for row in failed)
    assert all(row["latency_ms"] == "" for row in failed)
    ok = [row for row in rows if row["status"] == "ok"]
    assert all(float(row["latency_ms"]) > 0 and row["error"] == "" for row in ok)
    assert all(int(row["pe_count"]) == int(row["array.rows"]) * int(row["array.cols"]) for row in ok)


def test_workers_give_the_same_table(reference: tuple[Path, Path], tmp_path: Path) -> None:
    executor = LocalExecutor(2)
    run_sweep(load_plan(reference[0]), tmp_path, executor)
    assert_same_tables(tmp_path, reference[1])
    # The Parquet file's writer came from the forked worker, as this process would say it.
    assert executor.table_writer == table_writer() and table_writer().startswith("accel ")
    # The worker was told to exit, not waited for (its exit overlaps the table's writing);
    # `close` reaps it, exited on its own.
    (worker,) = executor._ending
    executor.close()
    assert worker.process.exitcode == 0 and not executor._ending


def test_workers_of_a_process_with_threads_come_from_a_forkserver(
    reference: tuple[Path, Path], tmp_path: Path
) -> None:
    """Forking a process that runs threads can deadlock the child: such a process (a notebook)
    gets its workers from a forkserver, with the same table."""
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        executor = LocalExecutor(2)
    finally:
        stop.set()
        thread.join()
    assert [type(p.process).__name__ for p in executor._processes] == ["ForkServerProcess"]
    run_sweep(load_plan(reference[0]), tmp_path, executor)
    assert_same_tables(tmp_path, reference[1])
    assert executor.table_writer is None  # not this process forked: the runner asks itself


def test_sigkill_mid_run_then_resume_loses_and_repeats_nothing(
    reference: tuple[Path, Path], tmp_path: Path
) -> None:
    command = [sys.executable, "-c", "from accel.cli import main; main()", "sweep",
               str(reference[0]), "--out", str(tmp_path), "--workers", "2"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=REPO, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    journal = tmp_path / "points.jsonl"
    deadline = time.monotonic() + 120
    while not (journal.is_file() and journal.read_text().count("\n") >= 1):
        assert process.poll() is None and time.monotonic() < deadline, "sweep ended before a kill"
        time.sleep(0.002)
    os.killpg(process.pid, signal.SIGKILL)  # the CLI and its worker processes, at once
    process.wait()
    killed_at = len(journal_ids(tmp_path))
    assert 0 < killed_at < TOTAL and not (tmp_path / "results.csv").exists()

    resumed = run_accel("sweep", str(reference[0]), "--out", str(tmp_path), "--workers", "2", cwd=REPO)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{TOTAL} points: {killed_at} from an earlier run, {TOTAL - killed_at} simulated" in (
        " ".join(resumed.stderr.split())
    )
    ids = journal_ids(tmp_path)
    assert len(ids) == len(set(ids)) == TOTAL
    assert_same_tables(tmp_path, reference[1])


def test_rerun_of_a_finished_sweep_simulates_nothing(reference: tuple[Path, Path], tmp_path: Path) -> None:
    plan = load_plan(reference[0])
    run_sweep(plan, tmp_path, SerialExecutor())
    again = run_sweep(plan, tmp_path, SerialExecutor())
    assert (again.reused, again.simulated, again.failed) == (TOTAL, 0, FAILED)
    restarted = run_sweep(plan, tmp_path, SerialExecutor(), restart=True)
    assert (restarted.reused, restarted.simulated) == (0, TOTAL)
    assert len(journal_ids(tmp_path)) == TOTAL


def test_a_changed_sweep_reuses_only_matching_points(write_yaml, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    small: SweepPlan = load_plan(write_yaml("name: a\nnetworks: [lenet5]\ngrid: {array.rows: [8, 16]}\n"))
    run_sweep(small, tmp_path, SerialExecutor())
    larger = load_plan(write_yaml("name: a\nnetworks: [lenet5]\ngrid: {array.rows: [8, 16, 32]}\n"))
    outcome = run_sweep(larger, tmp_path, SerialExecutor())
    assert (outcome.reused, outcome.simulated) == (2, 1)
    assert (tmp_path / "results.csv").read_text().count("\n") == 1 + 3


def test_dask_cluster_gives_the_same_table(reference: tuple[Path, Path], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        with distributed.Client(cluster) as client:
            where = client.run(lambda: __import__("accel").__file__)
            assert all(path.startswith(str(REPO)) for path in where.values()), where
        result = run_accel(
            "sweep", str(reference[0]), "--out", str(tmp_path),
            "--executor", "dask", "--scheduler", cluster.scheduler_address, cwd=REPO,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_same_tables(tmp_path, reference[1])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--executor", "dask"), r"error: --scheduler must give the Dask scheduler address"),
        (("--scheduler", "tcp://127.0.0.1:1"), r"error: --scheduler needs --executor dask"),
    ],
)
def test_executor_option_errors(write_yaml, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    sweep = write_yaml("name: e\nnetworks: [lenet5]\n")
    result = run_accel("sweep", str(sweep), *args, cwd=REPO)
    assert result.returncode == 2
    assert __import__("re").match(message, result.stderr.strip().splitlines()[-1]), result.stderr


def test_unreachable_scheduler_is_an_input_error() -> None:
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    from accel.errors import InputError
    from accel.sweep.executors import DaskExecutor

    with pytest.raises(InputError, match=r"^scheduler must be a reachable Dask scheduler address, not 'tcp://127.0.0.1:9' \("):
        DaskExecutor("tcp://127.0.0.1:9", timeout_s=0.5)


def test_workers_exit_when_the_sweep_process_is_killed(reference: tuple[Path, Path], tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil", reason="psutil (installed with distributed) is missing")
    command = [sys.executable, "-c", "from accel.cli import main; main()", "sweep",
               str(reference[0]), "--out", str(tmp_path), "--workers", "2"]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = tmp_path / "points.jsonl"
    deadline = time.monotonic() + 120
    while not (journal.is_file() and journal.read_text().count("\n") >= 1):
        assert process.poll() is None and time.monotonic() < deadline, "sweep ended before a kill"
        time.sleep(0.002)
    helpers = psutil.Process(process.pid).children(recursive=True)
    assert helpers, "the sweep started no worker processes"
    process.kill()  # only the sweep itself: its workers must notice and go
    process.wait()
    _, alive = psutil.wait_procs(helpers, timeout=10)
    for leftover in alive:
        leftover.kill()
    assert alive == []


@pytest.mark.parametrize("network", ["resnet18", "mobilenet_v2", "googlenet"])
@pytest.mark.parametrize("batch", [1, 3])
def test_the_analytic_path_gives_the_summarys_analytic_metrics(network: str, batch: int) -> None:
    """A sweep that asks only for metrics that need no memory model gets, per point, exactly
    the values the full simulation's summary holds."""
    from accel.config import ChipConfig
    from accel.io.sources import load_network
    from accel.results import ANALYTIC_METRICS
    from accel.simulation import simulate_analytic, simulate_network

    net = load_network(network)
    for chip in (ChipConfig(), ChipConfig().with_values({"array.dataflow": "os", "array.rows": 8})):
        full = simulate_network(net, chip, batch).summary()
        analytic = simulate_analytic(net, chip, batch)
        assert set(analytic) >= ANALYTIC_METRICS
        assert {key: analytic[key] for key in ANALYTIC_METRICS} == {
            key: full[key] for key in ANALYTIC_METRICS
        }


def test_a_sweep_of_analytic_metrics_skips_the_memory_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import accel.sweep.evaluate as evaluate

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the memory model ran")

    monkeypatch.setattr(evaluate, "simulate_network", refuse)
    sweep = tmp_path / "analytic.yaml"
    sweep.write_text("name: a\nnetworks: [lenet5]\ngrid:\n  array.rows: [4, 8, 16]\n"
                     "metrics: [compute_cycles, macs]\n")  # fmt: skip
    plan = load_plan(sweep)
    outcome = run_sweep(plan, tmp_path / "out", SerialExecutor())
    assert (outcome.simulated, outcome.failed) == (3, 0)


def test_every_counted_point_was_fsynced_first(
    write_yaml, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """Points are written as they arrive and fsynced at most every `_SYNC_S`; the progress
    callback counts only points an fsync has made durable (a power cut keeps every one)."""
    import accel.sweep.runner as runner
    import accel.sweep.store as store

    events: list[tuple[str, int]] = []  # ("fsync", journal lines) and ("count", points done)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        events.append(("fsync", (tmp_path / "points.jsonl").read_text().count("\n")))

    def count(done: int, total: int, failed: int) -> None:
        events.append(("count", done))

    monkeypatch.setattr(store.os, "fsync", fsync)
    monkeypatch.setattr(runner, "_SYNC_S", 0.0)  # every chunk
    plan = load_plan(write_yaml("name: a\nnetworks: [lenet5]\ngrid: {array.rows: [4, 8, 16, 32, 64]}\n"))
    run_sweep(plan, tmp_path, SerialExecutor(), count)
    durable = 0
    for kind, value in events:
        if kind == "fsync":
            durable = value
        else:
            assert value <= durable, events
    assert events[-1] == ("count", 5) and sum(kind == "fsync" for kind, _ in events) >= 3
    monkeypatch.setattr(runner, "_SYNC_S", 3600.0)  # never before the end: one fsync, one count
    events.clear()
    run_sweep(plan, tmp_path, SerialExecutor(), count, restart=True)
    assert events == [("count", 0), ("fsync", 5), ("count", 5)]
