"""Reading a TFLite flatbuffer's main subgraph: what each tensor is (an activation, a constant,
a quantization) and the layers made from its operators (`TfliteImporter`).

TFLite tensors are NHWC with static shapes stored in the file, so no shape inference is needed:
the importer maps (1, H, W, C) to the IR's (C, H, W), (1, F) to (F, 1, 1) and (1, A, B) to
(A, B, 1), and checks every layer's IR shape against the file's. The converters of each
operator (`accel.io.tflite_ops`) work through it; `accel.io.tflite_import` runs them.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accel.errors import InputError
from accel.io.imported import Affine, ImportedParts
from accel.model.network import LayerEntry
from accel.model.ops import Op, Shape, ShapeError, Unsupported
from accel.model.quantized import FloatWeights, QuantParams

_NUMPY_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16,
                9: np.int8}


@dataclass(frozen=True, eq=False)
class Activation:
    """An activation tensor: its IR source and NHWC dims; `hwc` when flattened from NHWC."""

    source: str
    dims: tuple[int, ...]
    quant: QuantParams | None = None
    hwc: tuple[int, int, int] | None = None


def require_tflite() -> Any:
    try:
        from tflite.Model import Model
    except ImportError:
        raise InputError('reading .tflite models needs the tflite package; install it with '
                         'pip install "accel-simulator[tflite]"') from None
    return Model


# What reading a corrupt flatbuffer raises: an offset past the end, an index past a table.
MALFORMED = (ValueError, IndexError, TypeError, AttributeError, KeyError, struct.error,
             ZeroDivisionError, OverflowError)  # fmt: skip


class TfliteImporter:
    """One import: the flatbuffer's main subgraph, what each tensor is, the layers made."""

    def __init__(self, model: Any, source: str, allow_unsupported: bool,
                 supported: Sequence[str] = ()) -> None:
        self.model, self.source = model, source
        self.supported = tuple(supported)  # named in the refusal of an unsupported operator
        self.graph = model.Subgraphs(0)
        self.allow_unsupported = allow_unsupported
        self.values: dict[int, Activation | np.ndarray | None] = {}
        self.parts = ImportedParts(Path(source).stem, {})
        for position in range(self.graph.InputsLength()):
            index = int(self.graph.Inputs(position))
            tensor = self.graph.Tensors(index)
            dims = self.dims(index)
            name = tensor.Name().decode()
            self.parts.inputs[name] = self.parts.shapes[name] = nhwc_shape(dims)
            self.values[index] = Activation(name, dims, self.quant(index))
            if (quant := self.quant(index)) is not None:
                self.parts.quant[name] = quant
                self.parts.tensor_names[name] = str(index)

    def check_input_shapes(self, texts: Sequence[str]) -> None:
        shown = {name: "x".join(map(str, self.dims(int(self.graph.Inputs(i)))))
                 for i, name in enumerate(self.parts.inputs)}
        for text in texts:
            name, _, dims = text.rpartition("=")
            if dims not in shown.values() or (name and shown.get(name) != dims):
                raise InputError(f"{self.source}: TFLite models have static shapes; "
                                 f"--input-shape must equal the file's "
                                 f"{', '.join(f'{n}={d}' for n, d in shown.items())}, not {text!r}")

    def operator_name(self, op: Any) -> str:
        from tflite.BuiltinOperator import BuiltinOperator

        code = self.model.OperatorCodes(op.OpcodeIndex())
        number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if number == BuiltinOperator.CUSTOM:
            return f"CUSTOM:{(code.CustomCode() or b'').decode()}"
        names = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
        return str(names.get(number, number))

    def dims(self, index: int) -> tuple[int, ...]:
        tensor = self.graph.Tensors(index)
        if tensor.ShapeLength() == 0:  # a rank-0 tensor: flatbuffers gives 0, not an array
            return ()
        return tuple(int(d) for d in tensor.ShapeAsNumpy())

    def value(self, index: int) -> Activation | np.ndarray | None:
        """An activation, a constant array, or None for an empty (absent) constant."""
        if index not in self.values:
            tensor = self.graph.Tensors(index)
            data = self.model.Buffers(tensor.Buffer()).DataAsNumpy()
            # an empty buffer or a sparse (compressed) tensor: dims only
            if isinstance(data, int) or tensor.Type() not in _NUMPY_TYPES or tensor.Sparsity():
                self.values[index] = None
            else:
                array = np.frombuffer(data.tobytes(), _NUMPY_TYPES[tensor.Type()])
                self.values[index] = array.reshape(self.dims(index))
        return self.values[index]

    def activation(self, index: int, where: str) -> Activation:
        value = self.value(index)
        if not isinstance(value, Activation):
            raise InputError(f"{self.source}: {where} must read an activation tensor")
        return value

    def quant(self, index: int) -> QuantParams | None:
        params = self.graph.Tensors(index).Quantization()
        tensor_type = self.graph.Tensors(index).Type()
        if params is None or params.ScaleLength() != 1 or tensor_type not in (3, 9):
            return None
        scale, zero = float(params.Scale(0)), int(params.ZeroPoint(0))
        return QuantParams(scale, zero, "int8") if tensor_type == 9 else QuantParams(
            scale, zero, "uint8")

    def scales(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        params = self.graph.Tensors(index).Quantization()
        if params is None or params.ScaleLength() == 0:
            return None
        return params.ScaleAsNumpy().astype(np.float32), params.ZeroPointAsNumpy().astype(np.int32)

    def dequantized(self, index: int, array: np.ndarray) -> np.ndarray:
        if array.dtype == np.float16:
            return array.astype(np.float32)
        scales = self.scales(index)
        if scales is None:
            return array.astype(np.float32)
        axis = self.graph.Tensors(index).Quantization().QuantizedDimension()
        shape = [1] * array.ndim
        shape[axis] = scales[0].size
        real: np.ndarray = (array.astype(np.float32) - scales[1].reshape(shape)) * scales[
            0].reshape(shape)
        return real.astype(np.float32)

    def add_layer(self, op: Any, layer: Op, inputs: Sequence[Activation],
                  quant: QuantParams | None = None) -> Activation:
        """Place a layer for `op` (named after its output tensor) and check its shape."""
        out = int(op.Outputs(0))
        base = self.graph.Tensors(out).Name().decode() or f"op{out}"
        name, count = base, 1
        while name in self.parts.entries or name in self.parts.inputs:
            count += 1
            name = f"{base}_{count}"
        shapes = tuple(self.parts.shapes[a.source] for a in inputs)
        dims = self.dims(out)
        where = f"{self.source}: operator {base!r}"
        try:
            shape = layer.output_shape(shapes)
        except ShapeError as err:
            raise InputError(f"{where} cannot take inputs {', '.join(map(str, shapes))}: {err}"
                             ) from None
        if shape != nhwc_shape(dims) and not isinstance(layer, Unsupported):
            raise InputError(f"{where}: accel computes {shape}, but the file says "
                             f"{'x'.join(map(str, dims))}")
        self.parts.entries[name] = LayerEntry(name, layer, tuple(a.source for a in inputs))
        self.parts.shapes[name] = shape
        quant = quant or self.quant(out)
        if quant is not None:
            self.parts.quant[name] = quant
        if self.graph.Tensors(out).Type() in (3, 9):  # uint8, int8: the layer's codes
            self.parts.tensor_names[name] = str(out)
        activation = Activation(name, dims, quant)
        self.values[out] = activation
        return activation

    def keep_weights(self, name: str, weight_index: int, weight: np.ndarray,
                     bias: np.ndarray | None, float_weight: np.ndarray) -> None:
        """Float weights of a float layer, or the int8 ones of a quantized layer."""
        from accel.io.onnx_weights import quantized_weights

        if weight.dtype == np.int8 and (scales := self.scales(weight_index)) is not None:
            reordered = float_weight.astype(np.int8)
            weights = quantized_weights(reordered, scales[0], scales[1], bias, transpose=False)
            if weights is not None:
                self.parts.qweights[name] = weights
            return
        channels = float_weight.shape[0]
        float_bias = np.zeros(channels, np.float32) if bias is None else bias.astype(np.float32)
        self.parts.float_weights[name] = FloatWeights(
            np.ascontiguousarray(float_weight, np.float32), float_bias.reshape(-1))

    def affine(self, name: str, scale: np.ndarray | None, shift: np.ndarray | None) -> None:
        self.parts.affines[name] = Affine(scale, shift, "bias" if scale is None else "scale")

    def unsupported(self, op: Any, name: str, reason: str) -> None:
        out = int(op.Outputs(0))
        tensor_name = self.graph.Tensors(out).Name().decode()
        if not self.allow_unsupported:
            detail = f" ({reason})" if reason else ""
            raise InputError(f"{self.source}: operator {tensor_name!r} ({name}) is not supported"
                             f"{detail}; supported operators: {', '.join(self.supported)}")
        inputs = [v for v in (self.value(int(i)) for i in op.InputsAsNumpy())
                  if isinstance(v, Activation)]
        shape = nhwc_shape(self.dims(out))
        layer = Unsupported(op_type=name, shape=(shape.channels, shape.height, shape.width))
        activation = self.add_layer(op, layer, inputs or [next(iter(self._graph_inputs()))])
        self.parts.unsupported.append((activation.source, name))

    def _graph_inputs(self) -> list[Activation]:
        return [v for v in self.values.values() if isinstance(v, Activation)][:1]


def nhwc_shape(dims: tuple[int, ...]) -> Shape:
    """The IR (C, H, W) of a TFLite tensor with a leading batch dimension."""
    if len(dims) == 4:
        return Shape(dims[3], dims[1], dims[2])
    rest = [*dims[1:], 1, 1][:3] if len(dims) >= 2 else [*dims, 1, 1, 1][:3]
    return Shape(*rest)
