"""Model solution of `custom-control-flow`: passes every check (`grader selftest`)."""

import torch

G_DOMAIN = (-4.0, 4.0)


def g(x):
    if x > 1:
        return x * x
    return 2 * x - 1


def g_grad(x):
    return 2 * x if x > 1 else torch.tensor(2.0, dtype=x.dtype)
