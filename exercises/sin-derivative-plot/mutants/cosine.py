# fails: autograd, gradient-from-autograd, no-cosine-at-run-time, no-cosine-in-source
"""The derivative of sin written as cos: the numbers are right, the method is not."""

import matplotlib.pyplot as plt
import torch


def sin_and_grad(x):
    return torch.sin(x), torch.cos(x)


def plot_sin_and_grad(x):
    y, dydx = sin_and_grad(x)
    plt.figure(figsize=(6, 3))
    plt.plot(x, y, label="sin(x)")
    plt.plot(x, dydx, label="d sin(x) / dx")
    plt.xlabel("x")
    plt.legend()
    plt.show()
