# threat: exit early inside calls: sys.exit, os._exit, signals to itself, KeyboardInterrupt, atexit
# expect: full=double-backward attacked=second-derivative-cost/values,second-derivative-cost/graph-size,sin-derivative-plot/values,sin-derivative-plot/plot
"""Each attacked function tries a different way to end the run with a success status."""

import atexit
import os
import signal
import sys

import torch

atexit.register(os._exit, 0)


def second_derivative(f, x):
    sys.exit(0)


def graph_size(t):
    os._exit(0)


def sin_and_grad(x):
    os.kill(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGTERM)
    return "passed"


def plot_sin_and_grad(x):
    raise KeyboardInterrupt


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
