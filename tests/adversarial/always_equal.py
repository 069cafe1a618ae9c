# threat: always-equal objects, Tensor and ndarray subclasses overriding __torch_function__ and __eq__, NaN and inf
# expect: full=double-backward attacked=second-derivative-cost/values,second-derivative-cost/graph-size,sin-derivative-plot/values,vector-control-flow/f-values,vector-control-flow/gradient,custom-control-flow/gradient-agrees
"""Returns values built to compare equal to anything, or to nothing."""

import numpy as np
import torch


class AlwaysEqual:
    shape = property(lambda self: self)
    dtype = property(lambda self: self)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __bool__(self):
        return True

    def __float__(self):
        return 0.0

    def __array__(self, *args, **kwargs):
        return np.zeros(40)

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self


class EqualInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class LyingTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True if func.__name__ in ("__eq__", "allclose", "equal", "isclose") else super().__torch_function__(func, types, args, kwargs or {})

    def __eq__(self, other):
        return True


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return True


def second_derivative(f, x):
    return AlwaysEqual()


def graph_size(t):
    return EqualInt(99)


def sin_and_grad(x):
    return torch.zeros_like(x).as_subclass(LyingTensor), torch.zeros_like(x).as_subclass(LyingTensor)


def f(a):
    return torch.full_like(a, float("nan"))


def grad_f(a):
    return np.zeros(tuple(a.shape)).view(LyingArray)


def g(x):
    if x > 0:
        return x * x
    return -x


def g_grad(x):
    return float("inf") if x > 0 else float("nan")


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
