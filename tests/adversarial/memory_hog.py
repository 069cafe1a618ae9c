# threat: a memory bomb: one huge allocation, then memory touched until something gives
# expect: full=double-backward attacked=second-derivative-cost/graph-size,sin-derivative-plot/plot
"""Asks for far more memory than any exercise needs."""

import torch


def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    return y.detach(), x.grad


def graph_size(t):
    return torch.empty(10**12).numel()  # 4 TB: refused at once


def plot_sin_and_grad(x):
    blocks = []
    while True:
        blocks.append(b"x" * (64 << 20))  # bytes that are really written, 64 MiB at a time


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
