"""Reference runtimes' float32 kernels, reproduced bit for bit, and the CPU path that picks them.

When onnxruntime leaves a layer of a quantized model in float32, its result depends on the
order its kernel sums in, which depends on the CPU: `cpu` detects the MLAS path as MLAS does;
`mlas_float` (Conv / Gemm), `mlas_pool` (average pools, Eigen's ReduceMean), `mlas_softmax` and
`eigen_pow` (LRN's power) follow those kernels. The accelerator's own datapath lives beside this
package in `accel.functional`; it calls these only to reproduce a reference's float islands.
"""
