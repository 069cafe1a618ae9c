# threat: hundreds of MB of output on stdout and stderr
# expect: full=double-backward attacked=sin-derivative-plot/plot
"""Floods both output streams."""

import os

import torch


def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    return y.detach(), x.grad


def plot_sin_and_grad(x):
    line = b"spam " * 200000 + b"\n"  # 1 MB
    for _ in range(256):
        os.write(1, line)
    for _ in range(16):
        os.write(2, line)


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
