"""Comparing an observed value (plain data from the child) with a reference value (torch, in the grader).

Types are compared exactly (a Tensor subclass or an object with a clever `__eq__` never arrives
as a tensor), then shape and dtype, then values with `rtol`/`atol` where NaN and infinity never
match a finite reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.i18n import Msg, Text, msg
from grader.observations import (
    BoolValue, FloatValue, IntValue, NdarrayValue, NoneValue, ObjectValue, SequenceValue, StrValue,
    TensorValue, TooLargeValue,
)


@dataclass(frozen=True)
class Tolerance:
    """How close values must be: |got - expected| <= atol + rtol * |expected|."""

    rtol: float
    atol: float
    exact_dtype: bool = True


@dataclass(frozen=True)
class Mismatch:
    """Why an observed value is not the expected one, as a message, with a hint key where one fits."""

    message: Msg
    hint_key: str | None = None
    kind: str = "type"
    """`type`, `shape`, `dtype`, `length` or `values` (right shape and type, wrong numbers)."""


def shape_text(shape: Any) -> str:
    """A shape as code writes it, `[3, 4]` (the same in every language)."""
    return str([int(n) for n in shape])


_SCALAR_TYPES = {IntValue: "type_int", FloatValue: "type_float", BoolValue: "type_bool", NoneValue: "type_none",
                 StrValue: "type_str"}


def type_name(value: Any) -> Text:
    """How a value's type reads in messages."""
    if isinstance(value, TensorValue):
        return msg("type_tensor", shape=shape_text(value.shape), dtype=value.dtype)
    if isinstance(value, NdarrayValue):
        return msg("type_ndarray", dtype=value.dtype)
    if isinstance(value, ObjectValue):
        return msg("type_object", cls=value.cls)
    if isinstance(value, TooLargeValue):
        return value.what
    if isinstance(value, SequenceValue):
        return msg(f"type_{value.t}", n=len(value.items))
    key = _SCALAR_TYPES.get(type(value))
    return msg(key) if key else type(value).__name__


def _where(index: tuple[int, ...], inputs: np.ndarray | None) -> Text:
    position: Text = shape_text(index) if index else msg("the_value")
    if inputs is not None and inputs.shape and len(index) == inputs.ndim:
        return msg("at_index_x", index=position, x=float(inputs[index]))
    return position


def compare_arrays(name: Text, got: np.ndarray, expected: np.ndarray, tol: Tolerance,
                   inputs: np.ndarray | None = None) -> Mismatch | None:
    """Elementwise comparison of two arrays of the same shape."""
    got = got.astype(np.float64) if not np.iscomplexobj(got) else got
    expected = expected.astype(np.float64) if not np.iscomplexobj(expected) else expected
    finite_expected = np.isfinite(expected)
    nonfinite = ~np.isfinite(got) & finite_expected
    if nonfinite.any():
        first = tuple(int(i) for i in np.argwhere(nonfinite)[0])
        return Mismatch(msg("mismatch_nonfinite", name=name, bad=int(nonfinite.sum()), total=int(got.size),
                            where=_where(first, inputs)), kind="values")
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(got - expected)
        bad = ~(diff <= tol.atol + tol.rtol * np.abs(expected))
    bad &= ~((got == expected) & ~finite_expected)  # the same infinity is a match
    if not bad.any():
        return None
    worst = tuple(int(i) for i in np.unravel_index(np.nanargmax(np.where(bad, diff, -1.0)), diff.shape)) if diff.shape else ()
    if got.size == 1:
        return Mismatch(msg("mismatch_single", name=name, got=repr(float(np.real(got[worst]))),
                            expected=repr(float(np.real(expected[worst]))), diff=float(diff[worst]),
                            rtol=tol.rtol, atol=tol.atol), kind="values")
    return Mismatch(msg(
        "mismatch_values", name=name, bad=int(bad.sum()), total=int(got.size), diff=float(diff[worst]),
        where=_where(worst, inputs), got=repr(float(np.real(got[worst]))), expected=repr(float(np.real(expected[worst]))),
        rtol=tol.rtol, atol=tol.atol,
    ), kind="values")


def compare_value(name: Text, expected: Any, got: Any, tol: Tolerance,
                  inputs: np.ndarray | None = None, names: list[str] | None = None) -> Mismatch | None:
    """None when `got` (observed in the child) matches `expected` (the reference's value, plain data too); otherwise what differs."""
    if isinstance(got, TooLargeValue):
        return Mismatch(msg("too_large", name=name, what=got.what))
    if isinstance(expected, TensorValue):
        if not isinstance(got, TensorValue):
            hint = "numpy_not_tensor_hint" if isinstance(got, NdarrayValue) else None
            return Mismatch(msg("mismatch_type", name=name, got=type_name(got), expected=type_name(expected)), hint)
        if list(got.shape) != list(expected.shape):
            return Mismatch(msg("mismatch_shape", name=name, got=shape_text(got.shape), expected=shape_text(expected.shape)),
                            kind="shape")
        if tol.exact_dtype and got.dtype != expected.dtype:
            return Mismatch(msg("mismatch_dtype", name=name, got=got.dtype, expected=expected.dtype), "dtype_hint", kind="dtype")
        return compare_arrays(name, got.array, expected.array, tol, inputs)
    if isinstance(expected, SequenceValue):
        if not isinstance(got, SequenceValue):
            return Mismatch(msg("mismatch_type", name=name, got=type_name(got), expected=msg("type_tuple", n=len(expected.items))))
        if len(got.items) != len(expected.items):
            return Mismatch(msg("mismatch_length", name=name, got=len(got.items), expected=len(expected.items)), kind="length")
        for i, (e, g) in enumerate(zip(expected.items, got.items)):
            item: Text = names[i] if names and i < len(names) else msg("item_of", name=name, i=i)
            mismatch = compare_value(item, e, g, tol, inputs)
            if mismatch:
                return mismatch
        return None
    if isinstance(expected, BoolValue):
        if not isinstance(got, BoolValue):
            return Mismatch(msg("mismatch_type", name=name, got=type_name(got), expected=msg("type_bool")))
        return None if got.v == expected.v else Mismatch(msg("mismatch_scalar", name=name, got=got.v, expected=expected.v), kind="values")
    if isinstance(expected, IntValue):
        if not isinstance(got, IntValue):
            hint = "int_expected_hint" if isinstance(got, (TensorValue, FloatValue)) else None
            return Mismatch(msg("mismatch_type", name=name, got=type_name(got), expected=msg("type_int")), hint)
        return None if got.v == expected.v else Mismatch(msg("mismatch_scalar", name=name, got=got.v, expected=expected.v), kind="values")
    if isinstance(expected, FloatValue):
        if not isinstance(got, (FloatValue, IntValue)):
            return Mismatch(msg("mismatch_type", name=name, got=type_name(got), expected=msg("type_float")))
        value = got.value if isinstance(got, FloatValue) else float(got.v)
        return compare_arrays(name, np.array(value), np.array(expected.value), tol)
    if isinstance(expected, NoneValue):
        return None if isinstance(got, NoneValue) else Mismatch(
            msg("mismatch_type", name=name, got=type_name(got), expected=msg("type_none")))
    raise TypeError(f"reference values of the kind {type(expected).__name__} cannot be compared")


def as_float(value: Any) -> float | None:
    """A number from an int, float, bool-free 0-d or one-element tensor/array; None otherwise."""
    if isinstance(value, FloatValue):
        return value.value
    if isinstance(value, IntValue):
        return float(value.v)
    if isinstance(value, (TensorValue, NdarrayValue)) and value.array.size == 1 and value.dtype != "bool":
        return float(np.real(value.array.reshape(())))
    return None


def short(value: Any) -> Text:
    """A compact rendering of an observed value for tables in messages."""
    if isinstance(value, (IntValue, BoolValue)):
        return repr(value.v)
    if isinstance(value, FloatValue):
        return f"{value.value:.6g}"
    if isinstance(value, (TensorValue, NdarrayValue)) and value.array.size == 1:
        return f"{float(np.real(value.array.reshape(()))):.6g} ({value.t})"
    return type_name(value)
