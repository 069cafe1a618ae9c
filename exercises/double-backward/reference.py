"""Reference answers for `double-backward`, computed with autograd."""

import torch


def _fresh(x):
    x = x.detach().clone().requires_grad_(True)
    return x, 2 * torch.dot(x, x)


def backward_twice_retained(x):
    """x.grad after two backward() calls on the same graph: the gradients add up to 8x."""
    x, y = _fresh(x)
    y.backward(retain_graph=True)
    y.backward()
    return x.grad


def backward_twice_zeroed(x):
    """x.grad after two backward() calls with the gradient zeroed in between: 4x."""
    x, y = _fresh(x)
    y.backward(retain_graph=True)
    x.grad.zero_()
    y.backward()
    return x.grad
