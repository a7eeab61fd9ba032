"""What the loop nests of a run share (`accel.memory.nest_memos`): found again, not rebuilt."""

from __future__ import annotations

from conftest import chip_with, single_layer

from accel.mapping.array import ArrayMapping
from accel.mapping.mapper import map_layer
from accel.memory.fold_cycles import layer_edges, untiled_cycles
from accel.memory.nest_memos import array_memos, clear_cache, double_buffered, once
from accel.model.ops import Conv


def _array() -> ArrayMapping:
    layer = single_layer(Conv(kernel=3, padding=1, out_channels=24), 8, 14)
    array = map_layer(layer, chip_with(array__rows=16, array__cols=8)).array
    assert array is not None
    return array


def test_an_arrays_memos_are_its_edges_and_untiled_cycles_kept_once_per_array_and_overlap() -> None:
    clear_cache()
    array = _array()
    memos = array_memos(array, True)
    assert memos.edges == layer_edges(array, True)
    assert memos.untiled == untiled_cycles(array, True)
    assert array_memos(array, True) is memos
    assert array_memos(array, False) is not memos
    assert array_memos(array, False).untiled == untiled_cycles(array, False)
    clear_cache()
    assert array_memos(array, True) is not memos


def test_double_buffered_reads_each_buffer_of_the_chip_it_is_given() -> None:
    single = chip_with(sram__weight__double_buffered=False)
    both = chip_with()
    assert double_buffered(single) == {"ifmap": True, "weight": False, "ofmap": True}
    assert double_buffered(both) == {"ifmap": True, "weight": True, "ofmap": True}
    assert double_buffered(single) is double_buffered(single)


def test_once_computes_a_fact_on_first_use_then_reads_the_attribute() -> None:
    calls: list[int] = []

    class Thing:
        @once
        def fact(self) -> int:
            calls.append(1)
            return 41 + len(calls)

    thing = Thing()
    assert (thing.fact, thing.fact, calls) == (42, 42, [1])
    assert Thing().fact == 43
