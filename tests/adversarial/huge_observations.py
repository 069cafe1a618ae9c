# threat: flood the grader's memory through the observations: many maximal arrays, one per call
# expect: full=double-backward attacked=vector-control-flow/f-values,vector-control-flow/gradient
"""Returns the largest tensor the child will send from every call of two functions."""

import torch


def f(a):
    return torch.zeros(2_000_000, dtype=torch.float64)


def grad_f(a):
    return torch.zeros(2_000_000, dtype=torch.float64)


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
