"""Checking the accelerator's numbers against trusted references, bit for bit.

Above the datapath (`accel.functional`) and the file formats (`accel.io`, whose exporters build
the reference models): `compare` (the report and the exported-model check against onnxruntime),
`model_check` / `ort_graph` (a user's ONNX file as onnxruntime runs it), `tflite_check` /
`tflite_model_check` (TFLite's reference kernels and tflite-micro), `ort_session` (exact,
CPU-aware onnxruntime sessions and their provenance), `model_files` (a quantized file's own
numbers for the engine).
"""
