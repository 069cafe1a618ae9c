"""Reference answers for `vector-control-flow`, computed with autograd."""

import torch


def f(a):
    """The section's control-flow function, for any shape."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def grad_f(a):
    """The gradient of f(a).sum() with respect to a."""
    a = a.detach().clone().requires_grad_(True)
    f(a).sum().backward()
    return a.grad


def f_over_a(a):
    """The section's analysis: f(a) = k * a, so the gradient is f(a) / a."""
    return f(a) / a
