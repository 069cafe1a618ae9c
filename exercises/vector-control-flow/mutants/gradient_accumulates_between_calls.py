# fails: gradient, gradient-is-f-over-a
"""grad_f keeps one leaf across calls and returns .grad without zeroing it: the second call doubles it."""

import torch


def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


_leaves = {}


def grad_f(a):
    leaf = _leaves.setdefault(tuple(a.flatten().tolist()), a.detach().clone().requires_grad_(True))
    f(leaf).sum().backward()
    return leaf.grad.clone()


def backward_nonscalar(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).backward()  # RuntimeError: f(a) is not a scalar
