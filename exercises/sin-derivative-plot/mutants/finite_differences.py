# fails: values, autograd, gradient-from-autograd
"""The derivative of sin by central finite differences instead of autograd."""

import matplotlib.pyplot as plt
import torch


def sin_and_grad(x):
    h = 1e-5
    return torch.sin(x), (torch.sin(x + h) - torch.sin(x - h)) / (2 * h)


def plot_sin_and_grad(x):
    y, dydx = sin_and_grad(x)
    plt.figure(figsize=(6, 3))
    plt.plot(x, y, label="sin(x)")
    plt.plot(x, dydx, label="d sin(x) / dx")
    plt.xlabel("x")
    plt.legend()
    plt.show()
