"""Reading an ONNX model: each graph node becomes a layer, an alias, or a constant
(`accel.io.onnx_import.import_onnx` runs it).

The importer walks the nodes in their (topological) file order and keeps, for every ONNX tensor,
what it is to the accelerator:
- a `Tensor`: an activation held in a layer's output buffer (the IR names the producing layer;
  Identity, Dropout, Cast, Quantize/DequantizeLinear and free reshapes only rename it);
- a `Const`: weights and the shape arithmetic exporters emit (Shape → Gather → Concat → Reshape),
  folded here (`accel.io.onnx_constants`) so no shape computation reaches the chip;
- a `Scalar`: a value computed at run time that is not an activation (the scale of dynamic
  quantization), which costs nothing and folds into the layer it rescales.
Operators are translated by the table in `accel.io.onnx_ops` (one converter per
(domain, op_type)), handed to the importer by `import_onnx`; shapes are computed by the IR
itself, so contrib operators that ONNX shape inference does not know still get shapes.
Activations are NCHW: an IR shape (C, H, W) is the ONNX tensor without its batch dimension; rank-2
(N, F) tensors are (F, 1, 1) and rank-3 (N, A, B) tensors (A, B, 1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from accel.errors import InputError
from accel.io.imported import ImportedModel, ImportedParts, finish
from accel.io.onnx_constants import folded_outputs, initializer_consts
from accel.io.onnx_graph import (
    Dims,
    element_type,
    graph_inputs,
    inferred_dims,
)
from accel.io.onnx_proto import Graph, Model
from accel.io.onnx_qdq_pairs import merged_pairs
from accel.io.onnx_values import (
    Const,
    Scalar,
    Tensor,
    TensorHolds,
    Value,
    attr,
    ir_shape,
)
from accel.model.network import LayerEntry
from accel.model.ops import Op, ShapeError, Unsupported
from accel.model.quantized import QuantParams
from accel.user_input import describe

# Nodes allowed on the 5-D tensor between a channel shuffle's reshapes (QDQ models quantize it).
_SHUFFLE_STEPS = frozenset(
    ("Transpose", "Reshape", "QuantizeLinear", "DequantizeLinear", "Identity", "Cast")
)


class OnnxImporter:
    """One import: the model, what each tensor is, and the layers made so far."""

    def __init__(
        self, model: Model, source: str, input_dims: Mapping[str, Dims], allow_unsupported: bool,
        convert: Callable[[Any, Any, int], None], supported: Sequence[str] = (),
    ) -> None:
        if model.graph is None:
            raise InputError(f"{source}: not a valid ONNX model (it has no graph)")
        self.model = model
        self.graph: Graph = model.graph
        # The converter table (`accel.io.onnx_ops`) is handed in: it works through this class.
        self.convert, self.supported = convert, tuple(supported)
        self.source = source
        self.input_dims = dict(input_dims)
        self.allow_unsupported = allow_unsupported
        self.opsets = list(model.opset_import)
        self.opset = next((o.version for o in self.opsets if o.domain in ("", "ai.onnx")), 0)
        self.values: dict[str, Value] = {}
        self.parts = ImportedParts(Path(source).stem, {})
        self.absorbed: set[int] = set()
        # Q/DQ nodes whose quantization onnxruntime's double-QDQ-pair merge replaces.
        self.merged_quant: dict[int, QuantParams] = {}
        self._inferred: dict[str, Dims] | None = None

    def run(self) -> ImportedModel:
        self.values.update(initializer_consts(self.graph, self.source))
        self._declare_inputs()
        merges = merged_pairs(self.graph)
        self.merged_quant = merges.quant
        self.parts.functional_gaps.extend(merges.gaps)
        for index, node in enumerate(self.graph.node):
            if index not in self.absorbed:
                try:
                    self._convert(node, index, self.convert)
                except InputError:
                    raise
                except (ValueError, IndexError, TypeError, KeyError, ZeroDivisionError,
                        OverflowError) as err:  # fmt: skip
                    # An attribute no valid model has (stride 0, negative pads, group 0); an op
                    # pydantic refuses raises its ValidationError, a ValueError.
                    raise InputError(f"{self.source}: node {node.name!r} (op {node.op_type}) "
                                     f"is malformed ({describe(err)})") from None  # fmt: skip
        return finish(self.parts, self.source)

    def _declare_inputs(self) -> None:
        """Graph inputs; an NHWC input read only through Transpose(0,3,1,2) is declared NCHW."""
        nodes = list(self.graph.node)
        for name, dims in self.input_dims.items():
            readers = [(i, n) for i, n in enumerate(nodes) if name in n.input]
            to_nchw = len(dims) == 4 and readers and all(
                n.op_type == "Transpose" and list(attr(n, "perm", [])) == [0, 3, 1, 2]
                for _, n in readers
            )
            if to_nchw:
                dims = (dims[0], dims[3], dims[1], dims[2])
                for index, node in readers:
                    self.absorbed.add(index)
                    self.values[node.output[0]] = Tensor(name, dims, holds=self._holds(name))
            self.parts.inputs[name] = ir_shape(dims)
            self.parts.shapes[name] = ir_shape(dims)
            self.values[name] = Tensor(name, dims, holds=self._holds(name))
            if name in self._integer_inputs():
                self.parts.tensor_names[name] = name  # fed as int8/uint8 codes

    def _holds(self, name: str) -> TensorHolds:
        return "codes" if name in self._integer_inputs() else "raw"

    def _integer_inputs(self) -> set[str]:
        codes = {2, 3}  # TensorProto.UINT8, INT8
        return {value.name for value in graph_inputs(self.model)
                if element_type(value) in codes}

    def _convert(self, node: Any, index: int, convert_node: Any) -> None:
        values = [self.value(name, node) if name else None for name in node.input]
        if node.op_type == "Constant" or (
            values and all(isinstance(v, Const) or v is None for v in values)
        ):
            self.values.update(folded_outputs(self, node, values))
        elif not any(isinstance(v, Tensor) for v in values):
            for output in node.output:
                self.values[output] = Scalar()
        else:
            convert_node(self, node, index)

    def value(self, name: str, node: Any) -> Value:
        if name not in self.values:
            raise self.error(node, f"reads tensor {name!r}, which no node or input produces")
        return self.values[name]

    def inferred(self) -> dict[str, Dims]:
        if self._inferred is None:
            self._inferred = inferred_dims(self.model, self.input_dims)
        return self._inferred

    def error(self, node: Any, message: str) -> InputError:
        return InputError(f"{self.source}: node {node.name!r} (op {node.op_type}) {message}")

    def layer_name(self, node: Any, index: int) -> str:
        base = node.name or f"{node.op_type.lower()}_{index}"
        name, count = base, 1
        while name in self.parts.entries or name in self.parts.inputs:
            count += 1
            name = f"{base}_{count}"
        return name

    def add_layer(
        self,
        node: Any,
        index: int,
        op: Op,
        inputs: Sequence[Tensor],
        rank: int | None = None,
        quant: QuantParams | None = None,
    ) -> Tensor:
        """Place `op` reading `inputs`; its output tensor gets `rank` dims (default: the input's).

        `quant` is the output's quantization when the node defines it (QOperator outputs, or
        the input's for operators that move int8 values unchanged).
        """
        name = self.layer_name(node, index)
        shapes = tuple(self.parts.shapes[t.source] for t in inputs)
        try:
            shape = op.output_shape(shapes)
        except ShapeError as err:
            raise self.error(node, f"cannot take inputs of shape "
                             f"{', '.join(map(str, shapes))}: {err}") from None
        self.parts.entries[name] = LayerEntry(name, op, tuple(t.source for t in inputs))
        self.parts.shapes[name] = shape
        if quant is not None:
            self.parts.quant[name] = quant
            self.parts.tensor_names[name] = node.output[0]
            if node.op_type.startswith("QLinear") or node.op_type == "QGemm":
                self.parts.named_codes.add(name)  # int8 codes; a later QuantizeLinear is not
        out_rank = rank or len(inputs[0].dims)
        dims = (inputs[0].dims[0], shape.channels, shape.height, shape.width)[:out_rank]
        holds = self._output_holds(node, op, inputs)
        tensor = Tensor(name, dims, quant, holds=holds)
        if quant is not None and holds != "codes" and quant is inputs[0].quant:
            # A move of float values (Slice, Reshape, ... between DQ and Q): the quantization
            # is the input's until a QuantizeLinear of the output says otherwise.
            self.parts.inherited_quant.add(name)
        raw = tuple(i for i, t in enumerate(inputs) if t.holds == "raw")
        if raw:  # a float op reading a float op's result directly, not through codes
            self.parts.attributes.setdefault(name, {})["float_inputs"] = raw
        self.values[node.output[0]] = tensor
        return tensor

    @staticmethod
    def _output_holds(node: Any, op: Op, inputs: Sequence[Tensor]) -> TensorHolds:
        if node.op_type.startswith("QLinear") or node.op_type == "QGemm":
            return "codes"
        if op.keeps_quantization and inputs:
            return inputs[0].holds
        return "raw"

    def alias(self, node: Any, tensor: Tensor, output: int = 0) -> None:
        self.values[node.output[output]] = tensor

    def unsupported(self, node: Any, index: int, reason: str = "") -> None:
        """Stop with a one-line error, or with --allow-unsupported place a zero-cost layer."""
        if not self.allow_unsupported:
            detail = f" ({reason})" if reason else ""
            raise self.error(node, f"is not supported{detail}; supported ops: "
                             f"{', '.join(self.supported)}")
        tensors = [v for v in (self.values.get(n) for n in node.input) if isinstance(v, Tensor)]
        dims = self.inferred().get(node.output[0])
        if dims is None or len(dims) < 2 or len(dims) > 4:
            raise self.error(node, "is not supported, and its output shape is unknown, so it "
                             "cannot be kept as a placeholder either")
        shape = ir_shape(dims)
        op = Unsupported(op_type=_qualified(node), shape=(shape.channels, shape.height,
                                                          shape.width))
        tensor = self.add_layer(node, index, op, tensors, rank=len(dims))
        for output in node.output:
            self.values[output] = tensor
        self.parts.unsupported.append((tensor.source, _qualified(node)))

    def quant_of(self, node: Any, scale_index: int) -> QuantParams | None:
        """Per-tensor quantization from a (scale, zero point) input pair, if representable."""
        scale = self.const_array(node, scale_index)
        zero = self.optional_array(node, scale_index + 1)
        zero = np.zeros((), np.uint8) if zero is None else zero
        if scale.size != 1 or zero.size != 1 or zero.dtype.name not in ("int8", "uint8"):
            return None
        return QuantParams(float(scale.reshape(-1)[0]), int(zero.reshape(-1)[0]),
                           zero.dtype.name)  # type: ignore[arg-type]

    def const_array(self, node: Any, index: int) -> np.ndarray:
        array = self.optional_array(node, index)
        if array is None:
            raise self.error(node, f"input {index} must be a constant with data in the file")
        return array

    def optional_array(self, node: Any, index: int) -> np.ndarray | None:
        if index >= len(node.input) or not node.input[index]:
            return None
        value = self.value(node.input[index], node)
        if not isinstance(value, Const):
            raise self.error(node, f"input {index} must be a constant, not an activation")
        return value.array

    def const(self, node: Any, index: int) -> Const | None:
        if index >= len(node.input) or not node.input[index]:
            return None
        value = self.value(node.input[index], node)
        if not isinstance(value, Const):
            raise self.error(node, f"input {index} must be a constant (weights), not an activation")
        return value

    def quantized_tensor(self, node: Any, index: int, scale_index: int) -> Tensor:
        """An int8/uint8 input of a QOperator node, whose (scale, zero point) inputs also
        record the tensor's quantization (a graph input fed as codes has no other record)."""
        tensor = self.tensor(node, index)
        quant = self.quant_of(node, scale_index)
        if quant is not None:
            self.parts.quant.setdefault(tensor.source, quant)
        return tensor if tensor.quant is not None or quant is None else replace(tensor,
                                                                                quant=quant)

    def tensor(self, node: Any, index: int = 0) -> Tensor:
        value = self.value(node.input[index], node) if index < len(node.input) else None
        if not isinstance(value, Tensor):
            raise self.error(node, f"input {index} must be an activation tensor")
        if value.shuffle_stage and node.op_type not in _SHUFFLE_STEPS:
            raise self.error(node, "reads a 5-D tensor; 5-D tensors are supported only inside "
                             "a reshape-transpose-reshape channel shuffle")
        return value


# How one node becomes layers, aliases or constants: (importer, node, index in the graph).
Converter = Callable[[OnnxImporter, Any, int], None]


def _qualified(node: Any) -> str:
    domain = node.domain if node.domain not in ("", "ai.onnx") else ""
    return f"{domain}.{node.op_type}" if domain else node.op_type
