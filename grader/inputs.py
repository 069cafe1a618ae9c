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
    return np.asarray(values, dtype=np.float64)


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
