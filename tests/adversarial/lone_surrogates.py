# threat: strings with lone surrogates (a name, a printed line, an answer, an exception) to break the report frames
# expect: full=double-backward attacked=sin-derivative-plot/values
"""Lone surrogates everywhere a student string goes: they may cost the string, never the submission."""

import torch

WHY_SECOND_DERIVATIVE_COSTS_MORE = "because \udc80 of the graph"
print("printed \ud800 at import")


def sin_and_grad(x):
    print("printed \udfff in a call")
    raise ValueError("message with \ud83d only half an emoji")


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
