# fails: control-flow
"""A branch that the sampled inputs never take (x > 100 on [-4, 4]): only one path is exercised."""

import torch

G_DOMAIN = (-4.0, 4.0)


def g(x):
    if x > 100:
        return x * x
    return 2 * x - 1


def g_grad(x):
    return 2 * x if x > 100 else torch.tensor(2.0, dtype=x.dtype)
