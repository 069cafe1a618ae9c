# threat: earn the control-flow points with a branch that changes nothing (if x > 0: pass)
# expect: full=double-backward attacked=custom-control-flow/control-flow
"""Two paths through the code, one computation."""

import torch


def g(x):
    if x > 0:
        pass
    return x * x + 1


def g_grad(x):
    return 2 * x


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
