# threat: use autograd in a "by hand" derivative by calling the engine directly (Variable._execution_engine.run_backward)
# expect: full=double-backward attacked=custom-control-flow/derived-by-hand
"""g_grad claims a hand derivation but asks autograd's engine itself."""

import torch
from torch.autograd.variable import Variable


def g(x):
    if x > 0:
        return x ** 3
    return -2 * x


def g_grad(x):
    leaf = x.detach().clone().requires_grad_(True)
    out = g(leaf)
    (grad,) = Variable._execution_engine.run_backward((out,), (torch.ones_like(out),), False, False, (leaf,), True, False)
    return grad


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
