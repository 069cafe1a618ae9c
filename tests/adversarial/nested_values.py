# threat: flood the grader with one ordinary return value: lists nested 4 deep, 64 items per level
# expect: full=double-backward attacked=second-derivative-cost/values,vector-control-flow/f-values
"""Sixteen million small values in one returned object."""

import torch


def _nest(depth):
    return 1 if depth == 0 else [_nest(depth - 1) for _ in range(64)]


def second_derivative(f, x):
    return _nest(4)


def f(a):
    return [[["x" * 64 for _ in range(64)] for _ in range(64)] for _ in range(16)]


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
