"""Inputs: seeded draws of the spec's inputs, as the plain data that travels to the child.

The grader draws every input here (numpy only, so planning needs no torch) and sends the child
plain arrays; both sides then build the same torch objects with `grader.arguments`.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np

from grader.spec.models import FunctionInput, GraphInput, InputSpec, TensorInput, ValueInput
from grader.wire import encode_array

Domain = tuple[float, float]


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    words = [seed] + [zlib.crc32(k.encode()) if isinstance(k, str) else k for k in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


def draw_tensor(
    spec: TensorInput, *, seed: int, exercise: str, name: str, sample: int, samples: int,
    domain: Domain | None = None,
) -> np.ndarray:
    """One draw of a tensor input as a float64 array: the same arguments give the same array."""
    low, high = domain if domain is not None else (spec.low, spec.high)
    shape = tuple(spec.shape)
    count = math.prod(shape)
    rng = _rng(seed, exercise, name, sample)
    if spec.dist == "uniform":
        values = rng.uniform(low, high, size=shape)
    elif spec.dist == "normal":
        values = rng.normal(spec.mean, spec.std, size=shape)
    elif spec.dist == "linspace":
        values = np.linspace(low, high, count).reshape(shape)
    else:  # stratified: draw i of n falls in the i-th of n equal slices of the range
        width = (high - low) / samples
        values = low + (sample + rng.uniform(0.0, 1.0, size=shape)) * width
    values = np.asarray(values, dtype=np.float64)
    if spec.include:
        values = _mix_in(values, spec, seed=seed, exercise=exercise, name=name, sample=sample, samples=samples)
    return values


def included_positions(spec: TensorInput, *, seed: int, exercise: str, name: str, samples: int) -> dict[int, float]:
    """Where `include` puts its values among all entries of a call set's draws (sample-major), and which value goes where.

    The positions are chosen once over the `samples × size` entries, so that a share means a share
    of everything the call set sees (a 0-d input with 16 samples gets its values in some of the
    16 draws), and the values are dealt in turn so that each appears when there are entries enough.
    """
    values = list(spec.include or [])
    total = samples * math.prod(spec.shape)
    if not values or total == 0:
        return {}
    wanted = round((spec.include_share or 0.0) * total)
    count = min(total, max(len(values), wanted))
    # Its own stream: adding `include` to an input changes none of the other entries' draws.
    chosen = _rng(seed, exercise, name, "include", samples).permutation(total)[:count]
    return {int(position): values[i % len(values)] for i, position in enumerate(sorted(chosen))}


def _mix_in(values: np.ndarray, spec: TensorInput, *, seed: int, exercise: str, name: str, sample: int,
            samples: int) -> np.ndarray:
    size = values.size
    flat = values.reshape(-1).copy()
    for position, value in included_positions(spec, seed=seed, exercise=exercise, name=name, samples=samples).items():
        if position // max(size, 1) == sample:
            flat[position % size] = value
    return flat.reshape(values.shape)


_PROBE_STEP = {"float64": float(np.finfo(np.float64).eps) ** (1 / 3), "float32": float(np.finfo(np.float32).eps) ** (1 / 3)}
"""Step of the finite-difference probes relative to the input's size: the cube root of the dtype's epsilon
balances a central difference's truncation error (h²) against rounding (eps / h)."""


def probe_arguments(args: tuple[dict[str, Any], ...], *, seed: int, exercise: str, call_set: str, case: int,
                    sample: int) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]] | None:
    """The arguments of two probes around a call: its first tensor argument moved by +h·v and -h·v.

    v has entries ±1 (seeded, so grader and child agree on every run with the same seed), and h
    is scaled to the tensor's size. None when the call has no tensor argument, or one of a 16-bit
    dtype (too coarse for a difference quotient to say anything).
    """
    from grader.wire import decode_array

    position = next((i for i, a in enumerate(args) if a["kind"] == "tensor"), None)
    if position is None or args[position]["array"]["dtype"] not in _PROBE_STEP:
        return None
    arg = args[position]
    dtype = arg["array"]["dtype"]
    x = np.asarray(decode_array(arg["array"]), dtype=np.float64)
    if not np.all(np.isfinite(x)):
        return None
    h = _PROBE_STEP[dtype] * max(1.0, float(np.max(np.abs(x), initial=0.0)))
    v = _rng(seed, exercise, call_set, "probe", case, sample).choice([-1.0, 1.0], size=x.shape)

    def moved(sign: float) -> tuple[dict[str, Any], ...]:
        shifted = {**arg, "array": encode_array(np.asarray(x + sign * h * v, dtype=np.float64), dtype)}
        return tuple(shifted if i == position else a for i, a in enumerate(args))

    return moved(1.0), moved(-1.0)


def wire_argument(
    spec: InputSpec, inputs: dict[str, InputSpec], *, seed: int, exercise: str, name: str,
    sample: int, samples: int, domains: dict[str, Domain],
) -> dict[str, Any]:
    """The plain-data form of one argument, ready to send to the child and to rebuild here."""
    if isinstance(spec, TensorInput):
        array = draw_tensor(spec, seed=seed, exercise=exercise, name=name, sample=sample,
                            samples=samples, domain=domains.get(name))
        return {"kind": "tensor", "array": encode_array(array, spec.dtype), "requires_grad": spec.requires_grad}
    if isinstance(spec, GraphInput):
        leaf = inputs[spec.leaf]
        assert isinstance(leaf, TensorInput)
        array = draw_tensor(leaf, seed=seed, exercise=exercise, name=spec.leaf, sample=sample,
                            samples=samples, domain=domains.get(spec.leaf))
        return {"kind": "graph", "leaf": encode_array(array, leaf.dtype), "expr": spec.expr}
    if isinstance(spec, FunctionInput):
        return {"kind": "function", "expr": spec.expr}
    assert isinstance(spec, ValueInput)
    return {"kind": "value", "value": spec.value}
