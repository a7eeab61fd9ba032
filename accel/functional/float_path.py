"""Where an imported model computes in float32 between its quantized tensors.

A layer takes the float path when onnxruntime computes it on float32 values it did not get
from codes: its output has no quantization in the file (a float tensor), one of its inputs is
another layer's raw float result (`float_inputs`, recorded by the importer: a HardSwish read
by a GlobalAveragePool directly while a Mul reads its QuantizeLinear), or its own raw result is
read that way. Such a layer runs as its exact float32 op (`accel.functional.float_layers`);
its float result is kept for the readers that take it raw, and quantized for the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from accel.errors import InputError
from accel.functional.float_layers import float_function
from accel.functional.float_windows import quantize
from accel.functional.kernels.cpu import require_modelled
from accel.model.network import Layer
from accel.model.quantized import QuantizedNetwork

Array = npt.NDArray[Any]
F32 = npt.NDArray[np.float32]
# Float layers whose result depends on the order MLAS sums in, so on the CPU's kernel path:
# accel models the AVX-512F and AVX2+FMA3 ones; elsewhere such an island is refused by name.
ORDER_DEPENDENT = frozenset(("conv", "fc", "avgpool", "global_avgpool", "softmax", "lrn",
                             "reduce_mean"))


def raw_readers(qnet: QuantizedNetwork, layer: Layer) -> tuple[int, ...]:
    """Indices of `layer`'s inputs it reads as another layer's raw float32 result."""
    return qnet.attributes.get(layer.name, {}).get("float_inputs", ())


def raw_sources(qnet: QuantizedNetwork) -> set[str]:
    """Layers whose raw float32 result some layer reads."""
    return {layer.inputs[i] for layer in qnet.network.layers for i in raw_readers(qnet, layer)}


def on_float_path(qnet: QuantizedNetwork, layer: Layer, sources_read_raw: set[str]) -> bool:
    """Whether `layer` runs as its float32 op rather than an integer kernel."""
    quantized = all(name in qnet.activations for name in (layer.name, *layer.inputs))
    return not quantized or bool(raw_readers(qnet, layer)) or layer.name in sources_read_raw


def run_float_layer(
    qnet: QuantizedNetwork,
    layer: Layer,
    tensors: Mapping[str, Array],
    reals: Mapping[str, F32],
) -> tuple[Array, F32]:
    """(the layer's output as the network stores it — codes, or float32 if unquantized —,
    its raw float32 result)."""
    if layer.kind in ORDER_DEPENDENT:
        require_modelled(f"layer {layer.name!r}: float32 {layer.kind} island")
    function = float_function(layer, qnet.attributes.get(layer.name, {}),
                              qnet.weights.get(layer.name))  # fmt: skip
    if function is None:
        raise InputError(
            f"layer {layer.name!r}: onnxruntime computes this {layer.kind} in float32 (its input "
            "or output is unquantized in the file), and accel has no float32 model of it"
        )
    raw = set(raw_readers(qnet, layer))
    sources, params = [], []
    for index, name in enumerate(layer.inputs):
        if index in raw and name not in reals:
            raise InputError(f"layer {layer.name!r}: must not read the float graph input "
                             f"{name!r} directly (only through QuantizeLinear)")
        sources.append(reals[name] if index in raw else tensors[name])
        params.append(None if index in raw else qnet.activations.get(name))
    real = np.asarray(function(sources, params, None), np.float32)
    return quantize(real, qnet.activations.get(layer.name)), real
