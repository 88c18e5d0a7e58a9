"""koffi.Record, koffi.ZERO and koffi.CallFuture: what type checkers are told matches the runtime."""

from __future__ import annotations

import pytest

import koffi_typed as koffi
from koffi_typed import c


@koffi.struct
class Inner(koffi.Record):
    a: c.int32 = 0
    b: c.double = 0.0


@koffi.struct
class Outer(koffi.Record):
    inner: Inner = koffi.ZERO
    items: koffi.c.int16 = koffi.ZERO
    arr: koffi.Ptr["Outer"] = None
    count: c.uint8 = 7


def test_zero_default_is_the_zero_value_fresh_per_instance() -> None:
    one, two = Outer(), Outer()
    assert one.inner == Inner() and one.items == 0 and one.arr is None and one.count == 7
    assert one.inner is not two.inner
    one.inner.a = 5
    assert two.inner.a == 0
    assert repr(koffi.ZERO) == "koffi.ZERO"


def test_record_base_gives_bytes_and_from_buffer() -> None:
    value = Outer(Inner(3, 1.5), 2, None, 9)
    data = bytes(value)
    assert len(data) == koffi.sizeof(Outer)
    assert Outer.from_buffer(data) == value
    assert Outer.from_buffer(b"\0" * 8 + data, 8) == value
    assert Outer.__mro__[1] is koffi.Record


def test_record_base_without_decorator_refuses() -> None:
    class Plain(koffi.Record):
        pass

    with pytest.raises(TypeError, match="not a record class"):
        bytes(Plain())
    with pytest.raises(TypeError, match="not a record class"):
        Plain.from_buffer(b"")


def test_ptr_is_an_optional_pointer() -> None:
    assert koffi.Ptr["Outer"] == koffi.Pointer["Outer"] | None
    assert Outer().arr is None


def test_async_future_carries_errno() -> None:
    close = koffi.load(None).func("int close(int fd)")
    future = close.async_(-1)
    assert isinstance(future, koffi.CallFuture)
    assert future.result() == -1
    assert future.errno == koffi.os.errno["EBADF"]
