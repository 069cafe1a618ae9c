# threat: forge observations by importing the grader's recorder and patching it (claim autograd ran, hide cosine)
# expect: full=double-backward attacked=sin-derivative-plot/values,sin-derivative-plot/autograd
"""Reaches for the child's own instrumentation to report what did not happen."""

import torch

try:
    import grader.sandbox.instrument as instrument

    instrument.Recorder.count = lambda self, name: None  # nothing watched is ever counted
    PATCHED = "patched"
except ImportError as error:
    PATCHED = f"refused: {error}"
print("recorder:", PATCHED)


def sin_and_grad(x):
    # No autograd at all: a formula that only looks like one, counted as autograd if the forgery worked.
    y = torch.sin(x)
    return y, (torch.sin(x + 1e-6) - torch.sin(x - 1e-6)) / 2e-6


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
