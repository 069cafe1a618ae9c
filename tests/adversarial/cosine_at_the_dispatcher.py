# threat: use cosine where the function mode does not look: torch.ops.aten.cos, torch.cos under DisableTorchFunction
# expect: full=double-backward attacked=sin-derivative-plot/no-cosine-at-run-time
"""Computes the derivative of sin with cosine reached below torch's Python API."""

import torch


def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()  # autograd runs, so that only the cosine gives it away
    with torch._C.DisableTorchFunction():
        dydx = torch.ops.aten.cos.default(x.detach())
    return y.detach(), dydx


# Untouched: a correct answer to the double-backward exercise.


def backward_twice(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward()
    y.backward()


def backward_twice_retained(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward(retain_graph=True)
    y.backward()
    return x.grad


def backward_twice_zeroed(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward(retain_graph=True)
    x.grad.zero_()
    y.backward()
    return x.grad
