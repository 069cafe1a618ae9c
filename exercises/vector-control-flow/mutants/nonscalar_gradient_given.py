# fails: nonscalar-backward-fails
"""backward_nonscalar passes a gradient argument, so backward() on the non-scalar f(a) does not fail."""

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


def grad_f(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).sum().backward()
    return a.grad


def backward_nonscalar(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).backward(gradient=torch.ones_like(a))
