"""Bit-exact integer arithmetic of the accelerator's datapath.

The kernel library is pure numpy on quantized arrays, independent of the layer IR:
`requant` (the post-processing unit: requantization in `onnx` float32 or `tflite` fixed-point
flavour, accumulator narrowing, QuantizeLinear / DequantizeLinear), `geometry` (sliding
windows), `conv` (the MAC array's exact accumulators), `pooling`, `elementwise` (residual add,
SE multiply) and `lookup` (table activations, concat). Each is verified bit for bit against
onnxruntime's CPU kernels and TFLite's reference kernels (tests/test_conv.py and siblings).

A float training step's numbers (`training`): `float_round` (RNE into bf16 / fp16),
`float_gemm` (fp32 accumulation in the schedule's fold order), `training_conv` (a conv / fc's
forward, dX and dW GEMMs), `training_vector` (pooling, activations, loss) and `optimizer`
(SGD with momentum, Adam), checked against JAX's autograd (tests/test_training_numbers.py).
"""
