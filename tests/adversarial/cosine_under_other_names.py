# threat: call numpy's cosine under another name (numpy._core.umath.cos) or through numpy.vectorize(math.cos)
# expect: full=double-backward attacked=sin-derivative-plot/no-cosine-at-run-time
"""The same ufunc, found where a watch on numpy.cos would not look."""

import math

import numpy as np
import torch

try:
    from numpy._core import umath
except ImportError:  # numpy < 2
    from numpy.core import umath

CALLS = [0]


def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    plain = x.detach().numpy()
    CALLS[0] += 1
    values = umath.cos(plain) if CALLS[0] % 2 else np.vectorize(math.cos)(plain)
    return y.detach(), torch.from_numpy(np.asarray(values, dtype=plain.dtype))


# Untouched: a correct answer to the double-backward exercise.


def backward_twice(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward()
    y.backward()


def backward_twice_retained(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward(retain_graph=True)
    y.backward()
    return x.grad


def backward_twice_zeroed(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward(retain_graph=True)
    x.grad.zero_()
    y.backward()
    return x.grad
