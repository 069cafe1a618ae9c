# fails: gradient-agrees
"""A hand-derived gradient that is wrong on one branch (the derivative of x*x is not x)."""

import torch

G_DOMAIN = (-4.0, 4.0)


def g(x):
    if x > 1:
        return x * x
    return 2 * x - 1


def g_grad(x):
    return x if x > 1 else torch.tensor(2.0, dtype=x.dtype)
