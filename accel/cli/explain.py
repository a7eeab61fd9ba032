"""`accel explain -n NETWORK --layer NAME`: how one layer was mapped, tiled and timed, and why.

Registered on the `accel` app by `accel.cli`. Every figure is the layer's row of the run
(`layers.csv`), so the explanation and the table cannot disagree; `--json` prints the facts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from accel.errors import InputError, closest

if TYPE_CHECKING:
    from accel.config import ChipConfig
    from accel.results import LayerResult


def explain_command(
    network: Annotated[
        str, typer.Option("--network", "-n", help="built-in name (see `accel networks`) or a file")
    ],
    layer: Annotated[str, typer.Option("--layer", "-l", help="the layer's name (layers.csv)")],
    chip: Annotated[
        Path | None, typer.Option("--chip", "-c", help="chip YAML or .cfg (default: embedded)")
    ] = None,
    batch: Annotated[int, typer.Option(min=1, max=4096, help="images per inference")] = 1,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="network parameter, e.g. alpha=0.5")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the facts as JSON")] = False,
) -> None:
    """Explain one layer: its GEMM, folds, tiling and loop order, traffic and roofline verdict.

    Example:

        accel explain -n mobilenet_v1 --layer conv_dw_1
    """
    from accel.io.sources import load_chip, load_network, parse_params
    from accel.simulation import simulate_network

    chip_config = load_chip(chip)
    net = load_network(network, parse_params(param or []))
    result = simulate_network(net, chip_config, batch)
    names = [entry.name for entry in result.layers]
    if layer not in names:
        raise InputError(f"--layer must name a layer of {net.name}, not {layer!r}"
                         f"{closest(layer, names)}")  # fmt: skip
    facts = explain(result.layers[names.index(layer)], chip_config)
    if as_json:
        print(json.dumps(facts, indent=2))
        return
    for line in _lines(facts):
        print(line)


def explain(layer: LayerResult, chip: ChipConfig) -> dict[str, Any]:
    """The layer's facts: mapping, folds, tiling, traffic against compulsory, the verdict."""
    row = layer.row()
    mapping, memory, timing = layer.mapping, layer.memory, layer.timing
    facts: dict[str, Any] = {"layer": row["layer"], "kind": row["kind"], "unit": mapping.unit,
                             "macs": row["macs"]}  # fmt: skip
    array = mapping.array
    if array is not None:
        facts["gemm"] = {"M": array.m, "K": array.k, "N": array.n, "groups": array.groups}
        facts["dataflow"] = {
            "dataflow": array.dataflow, "rows": array.rows_dim.upper(),
            "cols": array.cols_dim.upper(), "time": array.time_dim.upper(),
            "row_folds": array.row_folds, "col_folds": array.col_folds,
            "mapping_efficiency": round(timing.mapping_efficiency, 6),
        }  # fmt: skip
    rs = mapping.row_stationary
    if rs is not None:  # not a GEMM placement: PE sets, strips and passes instead of folds
        facts["row_stationary"] = {
            "set": f"{rs.set_rows}×{rs.e}", "segments": rs.segments, "strips": rs.strips,
            "r": rs.r, "t": rs.t, "p": rs.p, "q": rs.q, "n": rs.n, "m": rs.m,
            "active_pes": rs.active_pes, "passes": rs.passes,
            "glb_access_bytes": memory.glb_access_bytes,
        }  # fmt: skip
        del facts["dataflow"]
    if mapping.lowered is not None:  # a transposed conv: the dense conv the array runs
        facts["lowered"] = {"mapping": chip.array.conv_transpose,
                            "ifmap": str(mapping.lowered.input_shapes[0]),
                            "ofmap": str(mapping.lowered.output_shape),
                            "issued_macs": mapping.issued_macs}  # fmt: skip
    if memory.tiling is not None:
        facts["tiling"] = {"describe": memory.tiling.describe(),
                           "loop_order": memory.tiling.loop_order,
                           "steps": memory.tile_steps}  # fmt: skip
    facts["cycles"] = {"compute": row["compute_cycles"], "stall": row["stall_cycles"],
                       "total": row["total_cycles"], "refill": memory.refill_cycles}  # fmt: skip
    facts["dram_bytes"] = {
        "ifmap": memory.dram_ifmap_bytes, "weight": memory.dram_weight_bytes,
        "ofmap_write": memory.dram_ofmap_write_bytes, "ofmap_read": memory.dram_ofmap_read_bytes,
        "compulsory": {"ifmap": memory.compulsory_ifmap_bytes,
                       "weight": memory.compulsory_weight_bytes,
                       "ofmap": memory.compulsory_ofmap_bytes},
    }  # fmt: skip
    facts["roofline"] = {
        "arithmetic_intensity": round(memory.arithmetic_intensity, 4),
        "ridge_point": round(chip.ridge_point_macs_per_byte, 4) if array is not None else None,
        "bound": memory.bound,
        "utilization": row["utilization"],
    }
    facts["verdict"] = _verdict(layer, chip.dram.bandwidth_bytes_per_cycle)
    return facts


def _verdict(layer: LayerResult, bandwidth: float) -> str:
    """What the layer's time is spent on, and why (`LayerResult.verdict`)."""
    found = layer.verdict(bandwidth)
    compute, dram = layer.timing.compute_cycles, layer.memory.dram_bytes
    dram_cycles = f"{dram / bandwidth:,.0f}"
    if found == "idle":
        return "moves no data and computes nothing"
    if found == "memory":
        return (f"memory-bound: its {dram:,} DRAM bytes take {dram_cycles} cycles at "
                f"{bandwidth:g} B/cycle, its compute {compute:,}")  # fmt: skip
    if found == "mapping":
        return (f"mapping-bound: computing takes {compute:,} cycles (DRAM {dram_cycles}) on an "
                f"array the mapping fills to {layer.timing.mapping_efficiency:.1%}")  # fmt: skip
    return f"compute-bound: computing takes {compute:,} cycles, DRAM {dram_cycles}"


def _lines(facts: dict[str, Any]) -> list[str]:
    lines = [f"{facts['layer']} ({facts['kind']}) on the {facts['unit']}: {facts['macs']:,} MACs"]
    if "gemm" in facts:
        gemm = facts["gemm"]
        lines.append(f"  GEMM per group: M {gemm['M']:,} × K {gemm['K']:,} × N {gemm['N']:,}, "
                     f"{gemm['groups']} group(s)")  # fmt: skip
    if "row_stationary" in facts:
        rs = facts["row_stationary"]
        lines.append(f"  rs: PE set {rs['set']} ({rs['segments']} segment(s)), {rs['strips']} "
                     f"strip(s), r {rs['r']} × t {rs['t']} sets, p {rs['p']}, q {rs['q']}, "
                     f"n {rs['n']}, m {rs['m']}: {rs['active_pes']} active PEs, "
                     f"{rs['passes']:,} passes, global buffer {rs['glb_access_bytes']:,} B")
    elif "dataflow" in facts:
        flow = facts["dataflow"]
        lines.append(f"  {flow['dataflow']}: {flow['rows']} on rows, {flow['cols']} on columns, "
                     f"{flow['time']} in time; {flow['row_folds']} × {flow['col_folds']} folds, "
                     f"mapping efficiency {flow['mapping_efficiency']:.1%}")  # fmt: skip
    if "lowered" in facts:
        low = facts["lowered"]
        lines.append(f"  lowered ({low['mapping']}): a dense conv {low['ifmap']} → "
                     f"{low['ofmap']}, {low['issued_macs']:,} MACs issued")  # fmt: skip
    if "tiling" in facts:
        tiling = facts["tiling"]
        lines.append(f"  tiling: {tiling['describe']}, {tiling['steps']:,} tile steps")
    cycles = facts["cycles"]
    lines.append(f"  cycles: {cycles['total']:,} = compute {cycles['compute']:,} + stall "
                 f"{cycles['stall']:,} (refills {cycles['refill']:,})")  # fmt: skip
    dram, compulsory = facts["dram_bytes"], facts["dram_bytes"]["compulsory"]
    for operand in ("ifmap", "weight"):
        lines.append(_traffic(operand, dram[operand], compulsory[operand]))
    lines.append(_traffic("ofmap", dram["ofmap_write"], compulsory["ofmap"])
                 + (f", partial sums read back {dram['ofmap_read']:,} B"
                    if dram["ofmap_read"] else ""))  # fmt: skip
    roof = facts["roofline"]
    if roof["bound"]:
        ridge = f" vs ridge point {roof['ridge_point']}" if roof["ridge_point"] is not None else ""
        lines.append(f"  roofline: {roof['arithmetic_intensity']} MACs/byte{ridge}: "
                     f"{roof['bound']}-bound; utilization {roof['utilization']:.1%}")  # fmt: skip
    lines.append(f"  verdict: {facts['verdict']}")
    return lines


def _traffic(operand: str, moved: int, compulsory: int) -> str:
    times = f" ({moved / compulsory:.2f}× compulsory)" if compulsory else ""
    return f"  DRAM {operand}: {moved:,} B{times}"
