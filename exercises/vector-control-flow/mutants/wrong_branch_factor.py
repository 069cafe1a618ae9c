# fails: f-values, gradient, gradient-is-f-over-a
"""f scales the negative branch by 10 instead of 100: wrong values, and so wrong gradients."""

import torch


def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 10 * b
    return c


def grad_f(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).sum().backward()
    return a.grad


def backward_nonscalar(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).backward()  # RuntimeError: f(a) is not a scalar
