"""Results of a simulation: a record per layer, network totals, and the output contract's files.

`layers.csv` has one row per layer with at least the contract's columns (DESIGN.md section 7),
access counts in elements, traffic in bytes and utilization as a fraction; `summary.json` holds the
totals. The column order is stable: contract columns first, then the extra detail.

`layer.py` holds a layer's record and its row, `network.py` the network's record and its summary,
`summary.py` the summary blocks computed from per-layer figures (shared with the analytic sweep
path), `files.py` the writing of the files; every public name is re-exported here.
"""

from __future__ import annotations

from accel.results.files import (
    prepare_out_dir,
    safe_name,
    variant_name,
    write_atomically,
    write_results,
)
from accel.results.layer import (
    CONTRACT_COLUMNS,
    ENERGY_PARTS,
    MAPPING_BOUND_EFFICIENCY,
    LayerResult,
    Verdict,
    verdict,
)
from accel.results.network import NetworkResult, import_pandas
from accel.results.summary import ANALYTIC_METRICS, analytic_summary, training_section

__all__ = [
    "ANALYTIC_METRICS",
    "CONTRACT_COLUMNS",
    "ENERGY_PARTS",
    "MAPPING_BOUND_EFFICIENCY",
    "LayerResult",
    "NetworkResult",
    "Verdict",
    "analytic_summary",
    "import_pandas",
    "prepare_out_dir",
    "safe_name",
    "training_section",
    "variant_name",
    "verdict",
    "write_atomically",
    "write_results",
]
