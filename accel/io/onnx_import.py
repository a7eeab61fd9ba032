"""Importing an ONNX model: `import_onnx` reads the file, resolves its input shapes and runs
the reader (`accel.io.onnx_reader.OnnxImporter`) with the table of operator converters
(`accel.io.onnx_ops`), which work through the reader; neither imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from accel.io.imported import ImportedModel
from accel.io.onnx_graph import graph_inputs, parse_input_shapes, read_model, resolve_input_dims
from accel.io.onnx_ops import convert_node, supported_ops
from accel.io.onnx_reader import OnnxImporter


def import_onnx(
    path: str | Path, input_shapes: Sequence[str] = (), allow_unsupported: bool = False
) -> ImportedModel:
    """Read an ONNX file into a network plus the weights and quantization it carries."""
    file = Path(path)
    model = read_model(file)
    names = [value.name for value in graph_inputs(model)]
    overrides = parse_input_shapes(input_shapes, names)
    dims = resolve_input_dims(model, overrides, str(file))
    importer = OnnxImporter(model, str(file), dims, allow_unsupported, convert_node,
                            supported_ops())
    return importer.run()
