"""Reference models that only the tests and benchmarks run, never the simulator itself.

`systolic` (with `systolic_engines`) moves real int8 values through the array's registers cycle
by cycle; `pipeline` replays a layer's tile schedule as simpy processes (`dma_load`, `compute`,
`writeback`); `vector_lanes` steps the vector unit lane by lane. The analytic models in
`accel.perf` must agree with them exactly (tests/test_systolic.py, test_pe_vs_engine.py,
test_pipeline.py, test_replay.py, test_vector_lanes.py); tests/test_layers.py checks that no
production module imports this package.
"""
