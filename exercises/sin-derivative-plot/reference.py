"""Reference answers for `sin-derivative-plot`, computed with autograd (the grader may use cos; students may not)."""

import torch


def sin_and_grad(x):
    """(sin(x), d sin(x)/dx) with the derivative from autograd."""
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    return y.detach(), x.grad


def sin(x):
    """The first curve of the plot."""
    return torch.sin(x)


def cos(x):
    """The second curve of the plot: the derivative of sin."""
    return torch.cos(x)
