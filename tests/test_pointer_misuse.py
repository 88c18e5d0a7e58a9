"""Hand-made and computed `Pointer` values: every address, index and operand that cannot be a
valid access raises a clear exception (never a crash, never a read of the wrong address).
Each example runs in a forked child, so a crash is one failed example."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from forked import forked
from hypothesis import given, settings
from hypothesis import strategies as st

import koffi_typed as koffi

ADDRESS_MAX = 2 ** (8 * struct.calcsize("P")) - 1
SPECS = ("int", "double", "uint8_t", "int64_t", "int16_t", "float", "char *", "void *")

# addresses no C object can have: negative, beyond the address space, in the first page
bad_addresses = (st.integers(max_value=-1) | st.integers(ADDRESS_MAX + 1, 2**200) |
                 st.integers(1, 4095))
ops = st.sampled_from(["get", "set", "deref", "decode", "encode", "view", "index -1"])


def _use(p: koffi.Pointer[Any], spec: str, op: str) -> object:
    zero = None if spec.endswith("*") else 0
    if op == "get":
        return p[0]
    if op == "set":
        p[0] = zero
        return None
    if op == "deref":
        return p.deref()
    if op == "decode":
        return koffi.decode(p, spec)
    if op == "encode":
        koffi.encode(p, spec, zero)
        return None
    if op == "view":
        return bytes(koffi.view(p, koffi.sizeof(spec)))
    return p[-1]


@settings(max_examples=80, deadline=None)
@given(spec=st.sampled_from(SPECS), address=bad_addresses, op=ops)
def test_accesses_at_impossible_addresses_raise(spec: str, address: int, op: str) -> None:
    def run() -> object:
        return _use(koffi.Pointer(address, koffi.type(spec)), spec, op)

    outcome = forked(run)
    assert outcome.startswith(("raised TypeError", "raised ValueError",
                               "raised OverflowError")), outcome


@settings(max_examples=40, deadline=None)
@given(spec=st.sampled_from([s for s in SPECS if koffi.sizeof(s) > 1]), data=st.data(), op=ops)
def test_accesses_that_wrap_past_the_address_space_raise(spec: str, data: st.DataObject,
                                                         op: str) -> None:
    size = koffi.sizeof(spec)
    address = ADDRESS_MAX - data.draw(st.integers(0, size - 2), label="bytes before the end")
    outcome = forked(lambda: _use(koffi.Pointer(address, koffi.type(spec)), spec,
                                  "get" if op == "index -1" else op))
    assert outcome.startswith(("raised ValueError", "raised OverflowError")), outcome


@settings(max_examples=60, deadline=None)
@given(spec=st.sampled_from(SPECS), count=st.integers(1, 8),
       step=st.integers(-2**66, 2**66) | st.sampled_from([-1, 0, 1, 7, 8, 9]),
       op=ops)
def test_arithmetic_out_of_a_block_or_the_address_space_raises(
        spec: str, count: int, step: int, op: str) -> None:
    """``p + n`` and ``p[n]`` of an `alloc` block: in bounds reads the value, anything else
    raises (a step beyond the address space as well as one past the block)."""
    size = koffi.sizeof(spec)

    def run() -> object:
        p = koffi.alloc(spec, count)
        return _use(p + step, spec, op)

    outcome = forked(run)
    element = step - 1 if op == "index -1" else step
    inside = 0 <= element < count
    if inside:
        assert outcome.startswith("ok"), outcome
    else:
        assert outcome.startswith(("raised ValueError", "raised OverflowError",
                                   "raised TypeError")), (step, size, outcome)


@settings(max_examples=60, deadline=None)
@given(spec=st.sampled_from(SPECS),
       operand=st.sampled_from([True, False, 1.0, 2.5, "1", None, b"\x01", [1]]),
       how=st.sampled_from(["+", "-", "[]", "[]="]))
def test_non_int_offsets_and_indices_are_refused(spec: str, operand: object, how: str) -> None:
    """``bool`` is not an int here either: ``p + True`` and ``p[True]`` raise."""
    def run() -> object:
        p: Any = koffi.alloc(spec, 4)
        if how == "+":
            return p + operand
        if how == "-":
            return p - operand
        if how == "[]":
            return p[operand]
        p[operand] = 0
        return None

    outcome = forked(run)
    assert outcome.startswith("raised TypeError"), outcome


@given(spec=st.sampled_from(SPECS))
@settings(max_examples=10, deadline=None)
def test_pointer_accepts_a_type_spec_string(spec: str) -> None:
    p = koffi.alloc(spec, 2)
    try:
        assert koffi.Pointer(p.address, spec).type is koffi.type(spec)
        assert koffi.Pointer(p.address, spec)[1] == p[1]
    finally:
        koffi.free(p)


@settings(max_examples=40, deadline=None)
@given(target=bad_addresses.filter(lambda a: a >= 0) | st.sampled_from([None, 0]) |
       st.sampled_from(["abs", 1.5, True, b"\x00"]))
def test_calling_an_impossible_function_address_raises(target: object) -> None:
    def run() -> object:
        return koffi.call(target, "int (*)(int)", 1)  # type: ignore[arg-type]

    outcome = forked(run)
    if isinstance(target, int) and not isinstance(target, bool) and target > 0:
        assert outcome.startswith(("raised ValueError", "raised OverflowError")), outcome
    elif target is None or target == 0:
        assert outcome.startswith("raised ValueError") and "NULL" in outcome, outcome
    else:
        assert outcome.startswith("raised TypeError"), outcome


@pytest.mark.parametrize("option", ["lazy", "global_", "deep"])
@pytest.mark.parametrize("value", [1, "yes", None, 1.0])
def test_load_options_must_be_bools(option: str, value: object) -> None:
    with pytest.raises(TypeError, match=f"load\\(\\): {option} must be a bool"):
        koffi.load(None, **{option: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("path", [5, 1.5, ["libc.so.6"], object()])
def test_load_paths_must_be_paths(path: object) -> None:
    with pytest.raises(TypeError, match="load"):
        koffi.load(path)  # type: ignore[arg-type]
