# threat: kill the whole process group (kill(0, SIGKILL)) to take the warm worker and the neighbours down
# expect: full=double-backward attacked=sin-derivative-plot/values
"""Signals its process group from inside a call; only its own processes may be in it."""

import os
import signal

import torch


def sin_and_grad(x):
    os.kill(0, signal.SIGKILL)
    os.killpg(os.getpgrp(), signal.SIGKILL)
    return torch.sin(x), torch.sin(x)


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
