# fails: gradient-from-autograd
"""Autograd runs on a throwaway graph, and the derivative returned is a shifted sine.

backward() runs, no cosine is called, and the values agree with cos(x) to rounding: only the
provenance of the returned tensor tells that autograd did not make it."""

import math

import matplotlib.pyplot as plt
import torch


def sin_and_grad(x):
    leaf = x.detach().clone().requires_grad_(True)
    torch.sin(leaf).sum().backward()  # thrown away
    return torch.sin(x), torch.sin(x + math.pi / 2)


def plot_sin_and_grad(x):
    y, dydx = sin_and_grad(x)
    plt.figure(figsize=(6, 3))
    plt.plot(x, y, label="sin(x)")
    plt.plot(x, dydx, label="d sin(x) / dx")
    plt.xlabel("x")
    plt.legend()
    plt.show()
