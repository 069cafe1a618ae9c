# threat: compute cosine numerically without any cos function: exp(1j x).real, cosh(1j x).real, polar(1, x).real
# expect: full=double-backward attacked=sin-derivative-plot/no-cosine-at-run-time
"""cos(x) = Re exp(ix) = Re cosh(ix) = Re polar(1, x): three routes, one per call of sin_and_grad."""

import torch

CALLS = [0]


def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    plain = x.detach()
    route = CALLS[0] % 3
    CALLS[0] += 1
    if route == 0:
        dydx = torch.exp(1j * plain).real
    elif route == 1:
        dydx = torch.cosh(1j * plain).real
    else:
        dydx = torch.polar(torch.ones_like(plain), plain).real
    return y.detach(), dydx.to(plain.dtype)


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
