# fails: gradient-uses-autograd
"""grad_f from the section's analysis, f(a) / a, without autograd: right numbers, wrong method."""

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
    a = a.detach()
    return f(a) / a


def backward_nonscalar(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).backward()  # RuntimeError: f(a) is not a scalar
