"""Run the real SCALE-Sim 3.0.0 on a fixed list of cases and write accel's golden data.

For every case (one SCALE-Sim `.cfg` plus one topology CSV) this script writes the input files
into a scratch directory, runs SCALE-Sim through its Python API with trace files switched off
(`save_disk_space=True`), parses COMPUTE_REPORT.csv and DETAILED_ACCESS_REPORT.csv, and writes

* `tests/data/scalesim_golden.csv`: one row per (case, layer) with the case's array, dataflow,
  SRAM sizes and bandwidth, the layer's shape, and SCALE-Sim's reported cycles, utilisations and
  SRAM/DRAM access counts, copied verbatim from its reports;
* `tests/data/scalesim/`: the exact `.cfg`, topology and (header-only) layout files used, so a
  test can load the same inputs (the `cfg_file` and `topology_file` columns name them).

At the end it checks SCALE-Sim's numbers against the closed forms in `expected_counts` and
`expected_mapping_efficiency` (compute cycles, SRAM reads/writes, mapping efficiency) and prints
any mismatch. SCALE-Sim is not a dependency of accel: it lives in its own venv, and nothing under
`accel/` imports it. Set the venv up once, then rerun from the repository root:

    python3 -m venv .venv-scalesim
    .venv-scalesim/bin/pip install scalesim==3.0.0 "numpy<2.4"
    .venv-scalesim/bin/python tools/scalesim_golden.py            # all cases, 2 processes
    .venv-scalesim/bin/python tools/scalesim_golden.py --list     # case names and sizes
    .venv-scalesim/bin/python tools/scalesim_golden.py --only mixed_8x8_os --out golden.csv

The full run takes 9-11 minutes on 2 cores, almost all of it in the four AlexNet cases. Scratch
files go to scalesim_runs/golden in the system temporary folder and are deleted afterwards
unless --keep is given.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import io
import math
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOLDEN_CSV = REPO / "tests" / "data" / "scalesim_golden.csv"
INPUTS_DIR = REPO / "tests" / "data" / "scalesim"
SCRATCH = Path(tempfile.gettempdir()) / "scalesim_runs" / "golden"
LAYOUT_FILE = "layout.csv"
CONV_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,"
)
GEMM_HEADER = "Layer, M, N, K,"
SPARSITY_OFF: dict[str, object] = {  # every key must be present even with sparsity off
    "SparsitySupport": "false",
    "SparseRep": "ellpack_block",
    "OptimizedMapping": "false",
    "BlockSize": 8,
    "RandomNumberGeneratorSeed": 40,
}


@dataclass(frozen=True)
class ConvLayer:
    """One row of a SCALE-Sim conv topology file (square stride, no padding, no groups)."""

    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride: int

    def csv_row(self) -> str:
        values = (
            self.ifmap_h,
            self.ifmap_w,
            self.filter_h,
            self.filter_w,
            self.channels,
            self.num_filters,
            self.stride,
        )
        return ",".join([self.name, *map(str, values)]) + ","


@dataclass(frozen=True)
class GemmLayer:
    """One row of a SCALE-Sim GEMM (`-i gemm`) topology file: (M x K) . (K x N)."""

    name: str
    m: int
    n: int
    k: int

    def csv_row(self) -> str:
        return f"{self.name},{self.m},{self.n},{self.k},"

    def as_conv(self) -> ConvLayer:
        """The conv layer SCALE-Sim turns a GEMM row into: ifmap M x K, filter 1 x K, N filters."""
        return ConvLayer(self.name, self.m, self.k, 1, self.k, 1, self.n, 1)


@dataclass(frozen=True)
class Topology:
    """A named topology file: all conv rows or all GEMM rows."""

    name: str
    kind: str  # "conv" or "gemm"
    layers: tuple[ConvLayer, ...] | tuple[GemmLayer, ...]

    @property
    def file_name(self) -> str:
        return f"topo_{self.name}.csv"

    def text(self) -> str:
        header = GEMM_HEADER if self.kind == "gemm" else CONV_HEADER
        return "\n".join([header, *(layer.csv_row() for layer in self.layers)]) + "\n"

    def conv_layers(self) -> list[ConvLayer]:
        """The layers SCALE-Sim simulates, in report order (GEMMs converted, DP rows expanded)."""
        convs = [lay.as_conv() if isinstance(lay, GemmLayer) else lay for lay in self.layers]
        return [part for layer in convs for part in expand_depthwise(layer)]


def expand_depthwise(layer: ConvLayer) -> list[ConvLayer]:
    """SCALE-Sim runs a layer whose name contains `DP` once per channel, with Channels = 1."""
    if "DP" not in layer.name:
        return [layer]
    return [
        dataclasses.replace(layer, name=f"{layer.name}Channel_{i}", channels=1)
        for i in range(layer.channels)
    ]


@dataclass(frozen=True)
class Case:
    """One SCALE-Sim run: an architecture config applied to one topology file."""

    name: str
    rows: int
    cols: int
    dataflow: str
    topology: Topology
    ifmap_kb: int = 64
    filter_kb: int = 64
    ofmap_kb: int = 64
    bandwidth: int = 10
    mode: str = "CALC"  # InterfaceBandwidth: CALC (stall-free reads) or USER

    @property
    def cfg_name(self) -> str:
        return f"{self.name}.cfg"

    def cfg_sections(self) -> dict[str, dict[str, object]]:
        """The .cfg contents; in USER mode the layout bank bandwidths feed ifmap/filter reads."""
        arch: dict[str, object] = {
            "ArrayHeight": self.rows,
            "ArrayWidth": self.cols,
            "IfmapSramSzkB": self.ifmap_kb,
            "FilterSramSzkB": self.filter_kb,
            "OfmapSramSzkB": self.ofmap_kb,
            "IfmapOffset": 0,
            "FilterOffset": 10000000,
            "OfmapOffset": 20000000,
            "Bandwidth": self.bandwidth,
            "Dataflow": self.dataflow,
            "MemoryBanks": 1,  # not read by SCALE-Sim 3.0.0
            "ReadRequestBuffer": 32,
            "WriteRequestBuffer": 32,
        }
        layout: dict[str, object] = {}
        for operand in ("Ifmap", "Filter"):
            layout |= {
                f"{operand}CustomLayout": False,
                f"{operand}SRAMBankBandwidth": self.bandwidth,
                f"{operand}SRAMBankNum": 1,
                f"{operand}SRAMBankPort": 2,
            }
        return {
            "general": {"run_name": self.name},
            "architecture_presets": arch,
            "layout": layout,
            "sparsity": SPARSITY_OFF,
            "run_presets": {"InterfaceBandwidth": self.mode, "UseRamulatorTrace": False},
        }

    def cfg_text(self) -> str:
        lines = []
        for section, keys in self.cfg_sections().items():
            lines += [f"[{section}]", *(f"{key}: {value}" for key, value in keys.items()), ""]
        return "\n".join(lines)


@dataclass
class CaseResult:
    """What one run produced: report rows (one dict per layer) and the wall time of the run."""

    case: Case
    compute: list[dict[str, str]] = field(default_factory=list)
    detail: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0


ALEXNET = Topology(
    "alexnet",
    "conv",
    (  # SCALE-Sim's own topologies/conv_nets/alexnet.csv
        ConvLayer("Conv1", 224, 224, 11, 11, 3, 96, 4),
        ConvLayer("Conv2", 27, 27, 5, 5, 96, 256, 1),
        ConvLayer("Conv3", 13, 13, 3, 3, 256, 384, 1),
        ConvLayer("Conv4", 13, 13, 3, 3, 384, 384, 1),
        ConvLayer("Conv5", 13, 13, 3, 3, 384, 256, 1),
    ),
)

MIXED = Topology(
    "mixed",
    "conv",
    (  # MobileNet-like layers at reduced size, then odd shapes
        ConvLayer("mb_conv1_s2", 32, 32, 3, 3, 3, 32, 2),  # ceil: 16x16 ofmap (floor would be 15)
        ConvLayer("mb_dw_c1", 16, 16, 3, 3, 1, 1, 1),  # one channel of a depthwise conv
        ConvLayer("mb_pw", 14, 14, 1, 1, 32, 64, 1),
        ConvLayer("mb_dw_c1_s2", 14, 14, 3, 3, 1, 1, 2),  # ceil: 7x7 (floor would be 6x6)
        ConvLayer("mb_pw2", 7, 7, 1, 1, 64, 128, 1),
        ConvLayer("prime_7x13", 7, 13, 3, 5, 5, 11, 1),
        ConvLayer("pw_tiny", 13, 7, 1, 1, 3, 2, 1),  # K = 3, N = 2: smaller than every array
        ConvLayer("stride3", 17, 11, 4, 3, 2, 5, 3),  # ceil: 6x4 (floor would be 5x3)
        ConvLayer("filter_eq_ifmap", 5, 5, 5, 5, 7, 3, 1),  # M = 1
        ConvLayer("n1", 11, 11, 3, 3, 4, 1, 1),
    ),
)

GEMM = Topology(
    "gemm",
    "gemm",
    (
        GemmLayer("g_square", 128, 128, 128),
        GemmLayer("g_tall", 300, 7, 45),
        GemmLayer("g_n1", 50, 1, 200),
        GemmLayer("g_m1", 1, 64, 33),
    ),
)

MOBILENET_QUARTER = Topology(
    "mbpaper56",
    "conv",
    (  # SCALE-Sim's mobilnet_paper.csv layer kinds at a 56x56 input, cut to a few thousand folds
        ConvLayer("Conv1", 56, 56, 3, 3, 3, 32, 2),  # ceil: 28x28
        ConvLayer("Conv2_dw", 28, 28, 3, 3, 1, 1, 1),
        ConvLayer("Conv3", 28, 28, 1, 1, 32, 64, 1),
        ConvLayer("Conv4_dw", 28, 28, 3, 3, 1, 1, 2),  # ceil: 14x14 (floor would be 13x13)
        ConvLayer("Conv5", 14, 14, 1, 1, 64, 128, 1),
        ConvLayer("Conv6_DP", 8, 8, 3, 3, 3, 1, 1),  # DP: expanded into 3 one-channel layers
        ConvLayer("Conv13", 7, 7, 1, 1, 128, 128, 1),
        ConvLayer("FC", 1, 1, 1, 1, 256, 100, 1),  # M = 1
    ),
)

ODD = Topology(
    "odd",
    "conv",
    (  # shapes that leave every fold partial on a 7x5 array
        ConvLayer("s2_rect", 9, 11, 2, 3, 3, 5, 2),  # ceil: 5x5
        ConvLayer("tall_filter", 6, 6, 6, 1, 5, 13, 1),  # E = 1
        ConvLayer("wide_filter", 15, 4, 3, 4, 2, 3, 1),  # F = 1
        ConvLayer("k1_n1", 10, 10, 1, 1, 1, 1, 1),  # K = 1, N = 1
        ConvLayer("s4", 12, 9, 5, 3, 1, 7, 4),  # ceil: 3x3
        ConvLayer("odd_DP", 6, 6, 3, 3, 3, 2, 1),  # DP with 2 filters per channel
    ),
)

ARRAYS: tuple[tuple[int, int], ...] = ((8, 8), (16, 16), (32, 8), (12, 14), (4, 32))
DATAFLOWS: tuple[str, ...] = ("os", "ws", "is")


def build_cases() -> list[Case]:
    """The fixed case list; AlexNet only on big arrays (on 8x8 its Conv1 alone takes 3.5 min)."""
    cases = [Case(f"alexnet_32x32_{df}", 32, 32, df, ALEXNET) for df in DATAFLOWS]
    cases.append(Case("alexnet_16x32_ws", 16, 32, "ws", ALEXNET))
    for topo in (MIXED, GEMM):
        for rows, cols in ARRAYS:
            cases += [
                Case(f"{topo.name}_{rows}x{cols}_{df}", rows, cols, df, topo) for df in DATAFLOWS
            ]
    cases += [Case(f"mixed_small_sram_12x14_{df}", 12, 14, df, MIXED, 1, 1, 1) for df in DATAFLOWS]
    cases += [
        Case(f"mixed_user_bw4_8x8_{df}", 8, 8, df, MIXED, 1, 1, 1, 4, "USER") for df in DATAFLOWS
    ]
    cases.append(Case("gemm_user_bw16_16x16_ws", 16, 16, "ws", GEMM, 2, 2, 1, 16, "USER"))
    cases += [Case(f"mbpaper56_16x8_{df}", 16, 8, df, MOBILENET_QUARTER) for df in DATAFLOWS]
    cases += [Case(f"odd_7x5_{df}", 7, 5, df, ODD) for df in DATAFLOWS]
    return cases


def ofmap_dims(layer: ConvLayer) -> tuple[int, int]:
    """SCALE-Sim's ofmap size: ceil((I - F + S) / S), no padding (not the usual floor)."""
    return (
        math.ceil((layer.ifmap_h - layer.filter_h + layer.stride) / layer.stride),
        math.ceil((layer.ifmap_w - layer.filter_w + layer.stride) / layer.stride),
    )


def gemm_dims(layer: ConvLayer) -> tuple[int, int, int]:
    """(M, N, K): ofmap pixels per filter, number of filters, window size R*S*C."""
    eh, ew = ofmap_dims(layer)
    return eh * ew, layer.num_filters, layer.filter_h * layer.filter_w * layer.channels


def expected_counts(layer: ConvLayer, rows: int, cols: int, dataflow: str) -> dict[str, int]:
    """Closed-form compute cycles and SRAM access counts of SCALE-Sim 3.0.0 for one layer."""
    m, n, k = gemm_dims(layer)
    spatial = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[dataflow]
    row_folds = math.ceil(spatial[0] / rows)
    col_folds = math.ceil(spatial[1] / cols)
    folds = row_folds * col_folds
    fill = rows + cols - 2 if dataflow == "os" else 2 * rows + cols - 2
    counts = {"compute_cycles": folds * (spatial[2] + fill) - 1}
    if dataflow == "os":
        counts |= {
            "sram_ifmap_reads": m * k * col_folds,
            "sram_filter_reads": k * n * row_folds,
            "sram_ofmap_writes": m * n + folds * (rows + cols),
        }
    elif dataflow == "ws":
        counts |= {
            "sram_ifmap_reads": m * k * col_folds,
            "sram_filter_reads": k * n,
            "sram_ofmap_writes": m * n * row_folds,
        }
    else:
        counts |= {
            "sram_ifmap_reads": m * k,
            "sram_filter_reads": k * n * col_folds,
            "sram_ofmap_writes": m * n * row_folds,
        }
    return counts


def expected_mapping_efficiency(layer: ConvLayer, rows: int, cols: int, dataflow: str) -> float:
    """Mean over folds of used PEs / all PEs, in percent."""
    m, n, k = gemm_dims(layer)
    sr, sc = {"os": (m, n), "ws": (k, n), "is": (k, m)}[dataflow]
    return 100.0 * sr * sc / (math.ceil(sr / rows) * rows * math.ceil(sc / cols) * cols)


def estimated_lines(case: Case) -> int:
    """Number of demand-matrix lines SCALE-Sim steps through: its run time is ~130 us each."""
    return sum(
        expected_counts(lay, case.rows, case.cols, case.dataflow)["compute_cycles"] + 1
        for lay in case.topology.conv_layers()
    )


def write_inputs(case: Case, directory: Path) -> None:
    """Write the case's cfg, its topology file and the header-only layout file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / case.cfg_name).write_text(case.cfg_text(), encoding="utf-8")
    (directory / case.topology.file_name).write_text(case.topology.text(), encoding="utf-8")
    (directory / LAYOUT_FILE).write_text("Layer name,\n", encoding="utf-8")


def read_report(path: Path) -> list[dict[str, str]]:
    """Parse one SCALE-Sim report: ', '-separated, trailing comma, header on the first line."""
    with path.open(newline="", encoding="utf-8") as handle:
        table = [[cell.strip() for cell in row] for row in csv.reader(handle) if row]
    header = [name for name in table[0] if name]
    return [dict(zip(header, row, strict=False)) for row in table[1:]]


def run_case(case: Case, scratch: Path) -> CaseResult:
    """Run SCALE-Sim on one case in this process and return its parsed reports."""
    from scalesim.scale_sim import scalesim  # only in the SCALE-Sim venv

    case_dir = scratch / case.name
    write_inputs(case, case_dir)
    out_dir = case_dir / "out"
    out_dir.mkdir(exist_ok=True)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        sim = scalesim(
            save_disk_space=True,
            verbose=False,
            config=str(case_dir / case.cfg_name),
            topology=str(case_dir / case.topology.file_name),
            layout=str(case_dir / LAYOUT_FILE),
            input_type_gemm=case.topology.kind == "gemm",
        )
        sim.run_scale(top_path=str(out_dir))
    seconds = time.perf_counter() - start
    report_dir = out_dir / case.name
    return CaseResult(
        case,
        read_report(report_dir / "COMPUTE_REPORT.csv"),
        read_report(report_dir / "DETAILED_ACCESS_REPORT.csv"),
        seconds,
    )


def run_all(cases: Sequence[Case], scratch: Path, jobs: int) -> list[CaseResult]:
    """Run the cases in `jobs` fresh processes, biggest first; results come back in case order."""
    order = sorted(cases, key=estimated_lines, reverse=True)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, max_tasks_per_child=1) as pool:
        futures = {case.name: pool.submit(run_case, case, scratch) for case in order}
        results: dict[str, CaseResult] = {}
        for case in order:
            results[case.name] = futures[case.name].result()
            print(f"{case.name:32s} {results[case.name].seconds:8.1f} s", flush=True)
    return [results[case.name] for case in cases]


GOLDEN_COLUMNS = (
    "case",
    "input_type",
    "cfg_file",
    "topology_file",
    "array_rows",
    "array_cols",
    "dataflow",
    "ifmap_sram_kb",
    "filter_sram_kb",
    "ofmap_sram_kb",
    "bandwidth_mode",
    "bandwidth",
    "layer_id",
    "layer_name",
    "ifmap_height",
    "ifmap_width",
    "filter_height",
    "filter_width",
    "channels",
    "num_filters",
    "stride",
    "ofmap_height",
    "ofmap_width",
    "m",
    "n",
    "k",
    "total_cycles_incl_prefetch",
    "total_cycles",
    "stall_cycles",
    "compute_cycles",
    "overall_util_pct",
    "mapping_efficiency_pct",
    "compute_util_pct",
    "sram_ifmap_reads",
    "sram_filter_reads",
    "sram_ofmap_writes",
    "dram_ifmap_reads",
    "dram_filter_reads",
    "dram_ofmap_writes",
)

REPORT_FIELDS = {  # golden column -> SCALE-Sim report column
    "total_cycles_incl_prefetch": "Total Cycles (incl. prefetch)",
    "total_cycles": "Total Cycles",
    "stall_cycles": "Stall Cycles",
    "overall_util_pct": "Overall Util %",
    "mapping_efficiency_pct": "Mapping Efficiency %",
    "compute_util_pct": "Compute Util %",
    "sram_ifmap_reads": "SRAM IFMAP Reads",
    "sram_filter_reads": "SRAM Filter Reads",
    "sram_ofmap_writes": "SRAM OFMAP Writes",
    "dram_ifmap_reads": "DRAM IFMAP Reads",
    "dram_filter_reads": "DRAM Filter Reads",
    "dram_ofmap_writes": "DRAM OFMAP Writes",
}


def case_columns(case: Case) -> dict[str, object]:
    """The golden columns that describe the case rather than one layer."""
    return {
        "case": case.name,
        "input_type": case.topology.kind,
        "cfg_file": case.cfg_name,
        "topology_file": case.topology.file_name,
        "array_rows": case.rows,
        "array_cols": case.cols,
        "dataflow": case.dataflow,
        "ifmap_sram_kb": case.ifmap_kb,
        "filter_sram_kb": case.filter_kb,
        "ofmap_sram_kb": case.ofmap_kb,
        "bandwidth_mode": case.mode,
        "bandwidth": case.bandwidth,
    }


def layer_columns(layer_id: int, layer: ConvLayer) -> dict[str, object]:
    """The golden columns describing one layer in SCALE-Sim's conv terms (GEMMs converted)."""
    (eh, ew), (m, n, k) = ofmap_dims(layer), gemm_dims(layer)
    return {
        "layer_id": layer_id,
        "layer_name": layer.name,
        "ifmap_height": layer.ifmap_h,
        "ifmap_width": layer.ifmap_w,
        "filter_height": layer.filter_h,
        "filter_width": layer.filter_w,
        "channels": layer.channels,
        "num_filters": layer.num_filters,
        "stride": layer.stride,
        "ofmap_height": eh,
        "ofmap_width": ew,
        "m": m,
        "n": n,
        "k": k,
    }


def golden_rows(result: CaseResult) -> list[dict[str, object]]:
    """One golden row per layer, numbers copied verbatim from SCALE-Sim's reports."""
    layers = result.case.topology.conv_layers()
    if not len(layers) == len(result.compute) == len(result.detail):
        raise RuntimeError(f"{result.case.name}: report rows do not match the topology")
    rows = []
    for layer_id, (layer, comp, det) in enumerate(
        zip(layers, result.compute, result.detail, strict=True)
    ):
        row = case_columns(result.case) | layer_columns(layer_id, layer)
        merged = comp | det
        row |= {col: merged[src] for col, src in REPORT_FIELDS.items()}
        row["compute_cycles"] = int(merged["Total Cycles"]) - int(merged["Stall Cycles"])
        rows.append(row)
    return rows


def write_golden(rows: Iterable[dict[str, object]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=GOLDEN_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def formula_mismatches(rows: Iterable[dict[str, object]], cases: Sequence[Case]) -> list[str]:
    """Compare every golden row with the closed forms; return one message per mismatch."""
    by_name = {case.name: case for case in cases}
    problems = []
    for row in rows:
        case = by_name[str(row["case"])]
        layer = case.topology.conv_layers()[int(str(row["layer_id"]))]
        wanted = expected_counts(layer, case.rows, case.cols, case.dataflow)
        for key, value in wanted.items():
            if int(str(row[key])) != value:
                problems.append(f"{case.name}/{layer.name}: {key} {row[key]} != formula {value}")
        eff = expected_mapping_efficiency(layer, case.rows, case.cols, case.dataflow)
        if not math.isclose(float(str(row["mapping_efficiency_pct"])), eff, rel_tol=1e-9):
            problems.append(
                f"{case.name}/{layer.name}: mapping eff {row['mapping_efficiency_pct']}"
                f" != formula {eff}"
            )
    return problems


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel SCALE-Sim processes")
    parser.add_argument("--only", nargs="*", default=None, help="run only these case names")
    parser.add_argument("--out", type=Path, default=GOLDEN_CSV, help="golden CSV to write")
    parser.add_argument("--inputs", type=Path, default=INPUTS_DIR, help="where to copy inputs")
    parser.add_argument("--scratch", type=Path, default=SCRATCH, help="scratch directory")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--list", action="store_true", help="list cases and exit")
    return parser.parse_args(argv)


def select_cases(only: Sequence[str] | None) -> list[Case]:
    cases = build_cases()
    if only is None:
        return cases
    unknown = set(only) - {case.name for case in cases}
    if unknown:
        raise SystemExit(f"unknown case(s): {', '.join(sorted(unknown))}")
    return [case for case in cases if case.name in only]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cases = select_cases(args.only)
    if args.list:
        for case in cases:
            print(
                f"{case.name:32s} {len(case.topology.conv_layers()):3d} layers "
                f"{estimated_lines(case):10d} demand lines"
            )
        return 0
    start = time.perf_counter()
    results = run_all(cases, args.scratch, args.jobs)
    rows = [row for result in results for row in golden_rows(result)]
    write_golden(rows, args.out)
    for case in cases:
        write_inputs(case, args.inputs)
    if not args.keep:
        shutil.rmtree(args.scratch, ignore_errors=True)
    problems = formula_mismatches(rows, cases)
    print("\n".join(problems) if problems else f"all {len(rows)} rows match the closed forms")
    print(f"wrote {args.out} ({len(rows)} rows) in {time.perf_counter() - start:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
