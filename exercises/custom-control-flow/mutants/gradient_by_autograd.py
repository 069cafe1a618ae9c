# fails: derived-by-hand
"""g_grad asks autograd instead of deriving the gradient by hand."""

import torch

G_DOMAIN = (-4.0, 4.0)


def g(x):
    if x > 1:
        return x * x
    return 2 * x - 1


def g_grad(x):
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(g(x), x)
    return grad
