"""Bit-exact integer arithmetic of the accelerator's datapath.

The kernel library is pure numpy on quantized arrays, independent of the layer IR:
`requant` (the post-processing unit: requantization in `onnx` float32 or `tflite` fixed-point
flavour, accumulator narrowing, QuantizeLinear / DequantizeLinear), `geometry` (sliding
windows), `conv` (the MAC array's exact accumulators), `pooling`, `elementwise` (residual add,
SE multiply) and `lookup` (table activations, concat). Each is verified bit for bit against
onnxruntime's CPU kernels and TFLite's reference kernels (tests/test_conv.py and siblings).
"""
