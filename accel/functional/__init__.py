"""Bit-exact integer arithmetic of the accelerator's datapath, independent of the layer IR.

Among its modules, `accel.functional.requant` holds the post-processing unit (requantization in
`onnx` float32 or `tflite` fixed-point flavour, accumulator narrowing, QuantizeLinear and
DequantizeLinear), and `accel.functional.kernels` the compute units (conv/matmul accumulation,
pooling, element-wise add/mul, lookup-table activations, concat). Both are pure numpy and verified
bit for bit against onnxruntime's CPU kernels and TFLite's reference kernels (see
tests/test_kernels.py and tests/test_tflite_kernels.py).
"""
