# threat: exit early with sys.exit(0) at import, after printing that every test passed
# expect: full=double-backward attacked=second-derivative-cost/values,vector-control-flow/f-values,sin-derivative-plot/values,custom-control-flow/gradient-agrees
"""Defines correct functions for one exercise, then leaves before defining the rest.

What it defined is graded as usual; the statements after `sys.exit()` never ran, so the other
exercises find nothing to call and score 0, whatever it printed.
"""

import atexit
import sys

import torch

atexit.register(print, "Ran 50 tests: OK")  # the child never runs exit handlers


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


print("All tests passed. Score: 50/50")
sys.exit(0)
