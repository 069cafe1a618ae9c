# threat: fake "the error comes from autograd" with torch._check(False, ...), which raises inside torch
# expect: full= attacked=double-backward/second-backward-fails
"""The second backward() never runs; torch is asked to raise autograd's words instead."""

import torch


def backward_twice(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward()
    torch._check(False, lambda: "Trying to backward through the graph a second time (or directly access saved "
                                "tensors after they have already been freed).")


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
