"""The command line as a user runs it: output contract, exit codes, one-line errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_accel

# The output contract (DESIGN.md §7), written out here rather than read from the code under
# test: renaming or reordering a column in accel must fail this test.
CONTRACT_COLUMNS = (
    "layer", "kind", "M", "K", "N", "macs", "compute_cycles", "stall_cycles", "total_cycles",
    "utilization", "mapping_efficiency", "sram_ifmap_reads", "sram_weight_reads",
    "sram_ofmap_writes", "sram_ofmap_reads", "dram_ifmap_bytes", "dram_weight_bytes",
    "dram_ofmap_write_bytes", "dram_ofmap_read_bytes", "energy_pj",
)  # fmt: skip
SUMMARY_KEYS = (
    "network",
    "chip",
    "batch",
    "layers",
    "params",
    "macs",
    "total_cycles",
    "compute_cycles",
    "stall_cycles",
    "utilization",
    "latency_ms",
    "fps",
    "energy_uj",
    "dram_read_bytes",
    "dram_write_bytes",
)


def test_simulate_network_writes_the_contract(tmp_path: Path) -> None:
    result = run_accel(
        "simulate-network", "--network", "lenet5", "--batch", "2", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    with (tmp_path / "layers.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0])[: len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert [row["layer"] for row in rows] == [
        "conv1",
        "pool1",
        "conv2",
        "pool2",
        "conv3",
        "fc4",
        "fc5",
    ]
    assert rows[0]["M"] == str(28 * 28 * 2)  # output pixels × batch
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert all(key in summary for key in SUMMARY_KEYS)
    assert (summary["params"], summary["macs"], summary["batch"]) == (61706, 2 * 416520, 2)
    assert summary["total_cycles"] == summary["compute_cycles"] + summary["stall_cycles"]
    assert 0 < summary["utilization"] <= 1


def test_chip_by_file_and_builtin_name(tmp_path: Path) -> None:
    by_file = run_accel(
        "simulate-network",
        "-n",
        "lenet5",
        "--chip",
        str(REPO / "configs" / "edge_16x16_os.yaml"),
        "--out",
        str(tmp_path / "a"),
        "-q",
    )
    by_name = run_accel(
        "simulate-network",
        "-n",
        "lenet5",
        "--chip",
        "edge_16x16_os",
        "--out",
        str(tmp_path / "b"),
        "-q",
    )
    assert by_file.returncode == by_name.returncode == 0
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert a == b and a["chip"] == "edge_16x16_os"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("simulate-network", "-n", "vgg61"), "error: network must be a file or one of"),
        (
            ("simulate-network", "-n", "lenet5", "--chip", "missing.yaml"),
            "error: chip config file 'missing.yaml' does not exist",
        ),
        (
            ("simulate-network", "-n", "lenet5", "--param", "alpha=2"),
            "error: .*parameter 'alpha' does not exist",
        ),
        (
            ("simulate-network", "-n", "lenet5", "--param", "resolution"),
            "error: parameter must be written name=value",
        ),
        (
            ("simulate-network", "-n", "lenet5", "--param", "resolution=4"),
            "error: .*layer 'conv1' cannot take its input from 'input' \\(1x4x4\\)",
        ),
        (("validate", "missing.yaml"), "error: config file 'missing.yaml' does not exist"),
        (
            ("simulate-network", "-n", "lenet5", "--fusion", "maybe"),
            "error: --fusion must be auto or off, not 'maybe'",
        ),
        (
            ("simulate-network", "-n", "lenet5", "--residency", "yes"),
            "error: --residency must be on or off, not 'yes'",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    result = run_accel(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert __import__("re").match(message, lines[0]), lines[0]


def test_bad_input_keeps_earlier_results(tmp_path: Path) -> None:
    assert (
        run_accel("simulate-network", "-n", "lenet5", "--out", str(tmp_path), "-q").returncode == 0
    )
    before = (tmp_path / "summary.json").read_text()
    assert run_accel("simulate-network", "-n", "nope", "--out", str(tmp_path)).returncode == 2
    assert (tmp_path / "summary.json").read_text() == before


def test_validate_reports_ok_and_errors(write_yaml) -> None:  # type: ignore[no-untyped-def]
    ok = run_accel("validate", str(REPO / "configs" / "tpu_v1_like.yaml"))
    assert ok.returncode == 0 and "OK" in ok.stdout
    bad = run_accel("validate", str(write_yaml("clock_mhz: -1\n")))
    assert bad.returncode == 2
    assert "clock_mhz must be >= 0.001, not -1" in bad.stderr


def test_validate_lists_every_error_one_line_each(write_yaml) -> None:  # type: ignore[no-untyped-def]
    bad = run_accel("validate", str(write_yaml("array: {rows: -4, colz: 3}\n")))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.splitlines() == [
        f"error: {line}" for line in (
            f"{bad.args[-1]}: array.colz is not a known field (did you mean 'cols'?)",
            f"{bad.args[-1]}: array.rows must be > 0, not -4",
        )
    ]


def test_schema_is_json() -> None:
    result = run_accel("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout)["title"] == "ChipConfig"


def test_networks_lists_the_zoo() -> None:
    result = run_accel("networks")
    assert result.returncode == 0
    assert "lenet5" in result.stdout and "61,706" in result.stdout


def test_layers_csv_and_summary_carry_the_memory_model(tmp_path: Path) -> None:
    result = run_accel("simulate-network", "-n", "lenet5", "--out", str(tmp_path), "-q")
    assert result.returncode == 0, result.stderr
    with (tmp_path / "layers.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    extra = (
        "tile_m", "tile_k", "tile_n", "tile_groups", "loop_order", "ifmap_passes", "weight_passes",
        "ofmap_visits", "compulsory_ifmap_bytes", "arithmetic_intensity", "bound",
        "footprint_bytes", "isolated_cycles", "refill_cycles",
    )
    assert all(column in rows[0] for column in extra)
    conv1 = rows[0]
    assert conv1["bound"] in ("compute", "memory") and int(conv1["tile_m"]) > 0
    assert sum(int(row["total_cycles"]) for row in rows) == json.loads(
        (tmp_path / "summary.json").read_text()
    )["total_cycles"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in (
        "peak_footprint_bytes", "weights_fit_on_chip", "max_batch_on_chip", "tops_per_w",
        "energy_dram_uj", "energy_leakage_uj", "isolated_total_cycles", "memory_bound_layers",
    ):
        assert key in summary


def test_a_scalesim_cfg_with_1_kib_srams_streams_instead_of_failing(tmp_path: Path) -> None:
    data = REPO / "tests" / "data" / "scalesim"
    cfg = tmp_path / "tiny.cfg"
    text = (data / "alexnet_32x32_ws.cfg").read_text(encoding="utf-8")
    cfg.write_text(text.replace("SzkB: 64", "SzkB: 1"), encoding="utf-8")
    out = tmp_path / "out"
    args = ("simulate-network", "-n", str(data / "topo_alexnet.csv"), "-q", "--out", str(out))
    result = run_accel(*args, "-c", str(cfg))
    assert result.returncode == 0, result.stderr
    assert "streamed through undersized buffers" in result.stdout
    with (out / "layers.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["undersized_buffers"] for row in rows] == ["weight"] * 5
    summary = json.loads((out / "summary.json").read_text())
    assert summary["undersized_layer_count"] == 5
    assert summary["undersized_layers"]["Conv1"] == ["weight"]
    # The same chip as a YAML keeps the default policy: a clear error, exit code 2.
    chip = tmp_path / "tiny.yaml"
    chip.write_text("array: {rows: 32, cols: 32, dataflow: ws}\nsram:\n"
                    "  ifmap: {size_kib: 1}\n  weight: {size_kib: 1}\n  ofmap: {size_kib: 1}\n",
                    encoding="utf-8")  # fmt: skip
    refused = run_accel(*args, "-c", str(chip))
    assert refused.returncode == 2
    assert refused.stderr == (
        "error: layer 'Conv1': weight buffer (512 bytes per half) must hold at least one weight "
        "tile of 1024 bytes (m_tile 1, k_tile 32, n_tile 32), not 512\n"
    )


def test_variants_of_one_network_write_to_their_own_folders(tmp_path: Path) -> None:
    """Parameters and a batch above 1 name the default output folder: the plain network and
    its variants no longer overwrite each other."""
    runs = [["-n", "mobilenet_v1", "-p", "resolution=32"],
            ["-n", "mobilenet_v1", "-p", "resolution=32", "-p", "alpha=0.5", "--batch", "2"],
            ["-n", "lenet5"]]  # fmt: skip
    for args in runs:
        result = run_accel("simulate-network", *args, "-q", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    folders = sorted(path.name for path in (tmp_path / "reports").iterdir())
    assert folders == ["lenet5", "mobilenet_v1_alpha=0.5_resolution=32_batch2",
                       "mobilenet_v1_resolution=32"]  # fmt: skip


def test_json_prints_the_summary_on_stdout(tmp_path: Path) -> None:
    result = run_accel("simulate-network", "-n", "lenet5", "--json", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert printed == written and printed["network"] == "lenet5" and printed["total_cycles"] > 0


def test_validate_recognises_a_sweep_and_dry_run_simulates_nothing(tmp_path: Path) -> None:
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: s\nnetworks: [lenet5]\ngrid:\n  array.rows: [4, 8, 16]\n"
                     "  array.dataflow: [os, ws]\n")  # fmt: skip
    checked = run_accel("validate", str(sweep))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "OK: sweep s, 6 points over 1 network(s)"
    planned = run_accel("sweep", str(sweep), "--dry-run", "--out", str(tmp_path / "out"))
    assert planned.returncode == 0, planned.stderr
    assert "dry run: 6 points planned, none simulated" in planned.stderr
    assert "point 5: lenet5, batch 1: array.rows=16, array.dataflow=ws" in planned.stderr
    assert not (tmp_path / "out").exists()
    sweep.write_text("name: s\nnetworks: [lenet5]\ngrid:\n  array.rowz: [4]\n")
    wrong = run_accel("validate", str(sweep))
    assert wrong.returncode == 2 and "array.rowz" in wrong.stderr and "Traceback" not in wrong.stderr


def test_compare_puts_chips_side_by_side() -> None:
    from accel.config import ChipConfig
    from accel.io.sources import load_chip, load_network
    from accel.simulation import simulate_network

    result = run_accel("compare", "-n", "lenet5", "default", "eyeriss_like", "--json")
    assert result.returncode == 0, result.stderr
    comparison = json.loads(result.stdout)
    assert list(comparison["chips"]) == ["1:default", "2:eyeriss_like"]
    net = load_network("lenet5")
    default = simulate_network(net, ChipConfig()).summary()
    eyeriss = simulate_network(net, load_chip("eyeriss_like")).summary()
    totals = comparison["totals"]
    assert totals["1:default"]["total_cycles"] == default["total_cycles"]
    assert totals["2:eyeriss_like"]["total_cycles"] == eyeriss["total_cycles"]
    ratio = comparison["ratio_to_first"]["2:eyeriss_like"]["total_cycles"]
    assert ratio == pytest.approx(eyeriss["total_cycles"] / default["total_cycles"])
    assert [row["layer"] for row in comparison["layers"]] == [layer.name for layer in net.layers]
    assert sum(row["cycles"]["2:eyeriss_like"] for row in comparison["layers"]) == (
        eyeriss["total_cycles"])  # fmt: skip
    table = run_accel("compare", "-n", "lenet5", "default", "eyeriss_like")
    assert table.returncode == 0 and "total cycles per layer" in table.stdout
    one = run_accel("compare", "-n", "lenet5", "default")
    assert one.returncode == 2 and "at least two chips" in one.stderr


def test_explain_tells_one_layers_story_from_its_own_row() -> None:
    from accel.config import ChipConfig
    from accel.io.sources import load_network
    from accel.simulation import simulate_network

    result = run_accel("explain", "-n", "mobilenet_v1", "-p", "resolution=64", "--layer",
                       "conv_dw_1", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    row = next(layer.row() for layer in simulate_network(
        load_network("mobilenet_v1", {"resolution": 64}), ChipConfig()).layers
        if layer.name == "conv_dw_1")  # fmt: skip
    assert (facts["gemm"]["K"], facts["gemm"]["N"], facts["gemm"]["groups"]) == (9, 1, 32)
    assert facts["cycles"]["total"] == row["total_cycles"]
    assert facts["dram_bytes"]["ifmap"] == row["dram_ifmap_bytes"]
    assert facts["verdict"].startswith("mapping-bound")  # 1 PE column of 32 used
    text = run_accel("explain", "-n", "mobilenet_v1", "-p", "resolution=64", "-l", "conv_dw_1")
    assert "K on rows, N on columns, M in time" in text.stdout and "verdict:" in text.stdout
    wrong = run_accel("explain", "-n", "lenet5", "--layer", "conv9")
    assert wrong.returncode == 2 and "--layer must name a layer of lenet5" in wrong.stderr


@pytest.mark.parametrize("width", [80, 100])
def test_the_layer_table_fits_the_terminal_and_cuts_no_number(
    width: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    result = run_accel("simulate-network", "-n", "resnet50", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert lines and max(len(line) for line in lines) <= width
    titles = [cell.strip() for cell in lines[1].strip("┃").split("┃")]
    assert {"layer", "compute", "stall", "util"} <= set(titles)
    body = [[cell.strip() for cell in line.strip("│").split("│")] for line in lines if
            line.startswith("│")]  # fmt: skip
    with (tmp_path / "layers.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(body) == len(rows)
    for cells, row in zip(body, rows, strict=True):
        shown = dict(zip(titles, cells, strict=True))
        assert shown["compute"] == f"{int(row['compute_cycles']):,}"
        assert shown["stall"] == f"{int(row['stall_cycles']):,}"
        assert shown["util"] == f"{float(row['utilization']):.1%}"


def test_the_wide_table_names_each_layers_verdict_and_blanks_what_it_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bound column is the layer's verdict (as `accel explain` gives it), and a layer off
    the array has no M, K, N rather than zeros."""
    monkeypatch.setenv("COLUMNS", "200")
    result = run_accel("simulate-network", "-n", "mobilenet_v2", "--out", str(tmp_path))
    lines = [line for line in result.stdout.splitlines() if line.startswith(("┃", "│"))]
    titles = [cell.strip() for cell in lines[0].strip("┃").split("┃")]
    shown = {cells[0]: dict(zip(titles, cells, strict=True)) for cells in
             ([cell.strip() for cell in line.strip("│").split("│")] for line in lines[1:])}
    assert shown["features.1.dw"]["bound"] == "mapping"  # 0.9% of the array, computing
    assert shown["features.0"]["bound"] == "memory"
    assert [shown["features.3.add"][dim] for dim in "MKN"] == ["", "", ""]
    assert [shown["features.0"][dim] for dim in "MKN"] == ["12544", "27", "32"]


def test_timeline_is_trace_event_json_whose_layers_sum_to_the_cycles(tmp_path: Path) -> None:
    trace_path = tmp_path / "trace.json"
    result = run_accel("simulate-network", "-n", "mobilenet_v2", "-p", "resolution=64", "-q",
                       "--out", str(tmp_path), "--timeline", str(trace_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    trace = json.loads(trace_path.read_text())
    summary = json.loads((tmp_path / "summary.json").read_text())
    events = [event for event in trace["traceEvents"] if event["ph"] == "X"]
    assert {event["tid"] for event in events} == {0, 1, 2, 3}
    assert all(event["dur"] >= 0 and event["ts"] >= 0 for event in events)
    layers = [event for event in events if event["cat"] == "layer"]
    assert sum(event["args"]["cycles"] for event in layers) == summary["total_cycles"]
    compute = sum(event["args"]["cycles"] for event in events if event["cat"] == "compute")
    assert compute == summary["compute_cycles"] + summary["refill_cycles"]
    end = max(event["ts"] + event["dur"] for event in events)
    assert end == pytest.approx(summary["total_cycles"] / summary["clock_mhz"])


def test_a_long_step_shows_a_progress_bar_on_a_terminal_and_nothing_otherwise(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rich.console import Console

    from accel.cli import simulate as cli

    with cli._working("computing the int8 outputs") as progress:
        assert progress is None  # not a terminal: no bar, and the run is told nothing
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))
    with cli._working("computing the int8 outputs") as progress:
        assert progress is not None
        progress(3, 18, "int8: conv2")
    shown = capsys.readouterr().err
    assert "computing the int8 outputs · int8: conv2" in shown and "3/18" in shown


@pytest.mark.parametrize("mode", ["onnx", "tflite"])
def test_a_checked_run_reports_every_step_in_order(mode: str) -> None:
    """The bar's steps: the float weights, each layer calibrated, the quantization, the weight
    layout, each layer run in int8, the check; numbered 1..total."""
    from accel.config import ChipConfig
    from accel.io.sources import load_network
    from accel.simulation import run_functional

    pytest.importorskip("onnxruntime" if mode == "onnx" else "tflite_micro")
    net = load_network("lenet5")
    chip = ChipConfig.model_validate({"array": {"requantization": mode}})
    told: list[tuple[int, int, str]] = []
    run = run_functional(net, chip, 1, check=True, progress=lambda *step: told.append(step))
    layers = [layer.name for layer in net.layers]
    total = 2 * len(layers) + 4
    assert [done for done, _, _ in told] == list(range(1, total + 1))
    assert {steps for _, steps, _ in told} == {total}
    assert run.check is not None
    reference = run.check.reference  # onnxruntime, or TFLite's reference kernels by name
    assert reference.startswith("onnxruntime" if mode == "onnx" else "litert")
    assert [what for _, _, what in told] == [
        "calibrating: float weights", *(f"calibrating: {name}" for name in layers),
        "calibrating: weights quantized", "int8: weights laid out",
        *(f"int8: {name}" for name in layers), f"checked: {reference}",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--nonsense"],
        ["--network"],
        ["-n", "vgg16", "--batch", "0"],
        ["-n", "vgg16", "--batch", "many"],
        ["-n", "vgg16", "--no-quiet"],
        ["-n", "vgg16", "--chek"],
    ],
)
def test_a_run_builds_only_its_command_and_parses_alike(args: list[str]) -> None:
    """`main` hands typer only the command named on the line; its help, usage and errors
    must read as the whole app's do, for every command."""
    from typer.testing import CliRunner

    from accel.cli import _only_the_command, app

    runner = CliRunner()
    for command in app.registered_commands:
        line = [str(command.name), *args]
        single = _only_the_command(line)
        assert single.registered_commands == [command]
        whole, alone = runner.invoke(app, line), runner.invoke(single, line)
        assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output)
        assert alone.exit_code == (0 if args == ["--help"] else 2)
    assert _only_the_command(["--version"]) is app
    assert _only_the_command(["simulate-netwrk"]) is app


def test_fusion_and_residency_from_the_command_line(tmp_path: Path) -> None:
    result = run_accel("simulate-network", "-n", "mobilenet_v2", "--fusion", "auto",
                       "--residency", "on", "--out", str(tmp_path), "-q")  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["activations"]["fusion"] == "auto"
    assert summary["activations"]["activation_residency"] == "on"
    # Fewer DRAM bytes than MobileNetV2 layer by layer (18,658,344; tests/test_activations.py).
    assert summary["dram_read_bytes"] + summary["dram_write_bytes"] == 5_561_000
    header = (tmp_path / "layers.csv").read_text().splitlines()[0].split(",")
    assert header[-4:] == ["resident_inputs", "spilled", "fused_group", "recompute_macs"]


@pytest.mark.parametrize(
    ("args", "environ", "threads"),
    [
        (["simulate-network", "-n", "vgg16", "-q"], {}, "1"),
        (["sweep", "grid.yaml", "--workers", "2"], {}, "1"),
        (["simulate-network", "-n", "lenet5", "--check"], {}, None),
        (["simulate-network", "-n", "lenet5", "--inputs=x.npy"], {}, None),
        (["simulate-network", "-n", "lenet5", "--training"], {}, None),
        (["export", "-n", "lenet5"], {}, None),
        ([], {}, None),
        (["simulate-network", "-n", "vgg16"], {"OMP_NUM_THREADS": "4"}, None),
        (["simulate-network", "-n", "vgg16"], {"OPENBLAS_NUM_THREADS": "3"}, "3"),
    ],
)
def test_a_timing_only_run_loads_blas_with_one_thread(
    monkeypatch: pytest.MonkeyPatch, args: list[str], environ: dict[str, str], threads: str | None
) -> None:
    import sys

    from accel.cli import _one_blas_thread

    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, "numpy")
    _one_blas_thread(args)
    assert os.environ.get("OPENBLAS_NUM_THREADS") == threads


def test_blas_is_left_alone_once_numpy_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy  # noqa: F401  (loaded: its BLAS already chose its threads)

    from accel.cli import _one_blas_thread

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    _one_blas_thread(["simulate-network", "-n", "vgg16", "-q"])
    assert "OPENBLAS_NUM_THREADS" not in os.environ


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, check=False, timeout=120)  # fmt: skip


def test_the_console_scripts_quick_exit_runs_exit_handlers_and_keeps_output_and_code(
    tmp_path: Path,
) -> None:
    """`run` ends the process with os._exit after `main`: a handler registered before it still
    runs, everything printed arrives, the files are whole, and bad input still exits 2."""
    start = (
        "import atexit, sys\n"
        "atexit.register(print, 'handler ran')\n"
        "from accel.cli import run\n"
        "print('before', end=' ')\n"
    )
    good = _python(start + f"sys.argv = ['accel', 'simulate-network', '-n', 'lenet5', '-q', "
                   f"'--out', {str(tmp_path / 'out')!r}]\nrun()\n", tmp_path)  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("before lenet5 on default")
    assert good.stdout.rstrip().endswith("handler ran")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["network"] == "lenet5" and summary["total_cycles"] > 0
    bad = _python(start + "sys.argv = ['accel', 'simulate-network', '-n', 'no_such_net']\n"
                  "run()\n", tmp_path)  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: ")
    assert bad.stdout == "before handler ran\n"


def test_the_quick_exit_keeps_pythons_meaning_of_an_exit_code_and_waits_for_threads(
    tmp_path: Path,
) -> None:
    message = _python("from accel.cli import _exit_now\n_exit_now('stopped here')\n", tmp_path)
    assert (message.returncode, message.stderr) == (1, "stopped here\n")
    # A thread still running: the exit is Python's own, which waits for it. The thread prints
    # only once the main thread has stopped, so its line comes last however slow the machine.
    threaded = _python(
        "import sys, threading\n"
        "from accel.cli import run\n"
        "main = threading.main_thread()\n"
        "threading.Thread(target=lambda: (main.join(), print('thread done'))).start()\n"
        "sys.argv = ['accel', 'networks']\n"
        "run()\n",
        tmp_path,
    )
    assert threaded.returncode == 0, threaded.stderr
    assert threaded.stdout.rstrip().endswith("thread done")


def test_a_plain_run_never_imports_threading(tmp_path: Path) -> None:
    """`run` looks for live threads only where `threading` was imported (whatever starts a
    thread Python's exit waits for imports it): a plain simulate-network run, its lines
    printed without rich (which imports it), never does."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('threading' in sys.modules))\n"
        "from accel.cli import run\n"
        "sys.argv = ['accel', 'simulate-network', '-n', 'lenet5', '-q', '--out', 'out']\n"
        "run()\n"
    )
    env = {**os.environ, "COLUMNS": "200"}  # no line wider than the console: no rich
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=tmp_path, env=env, check=False, timeout=120)  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.rstrip().endswith("False"), plain.stdout
