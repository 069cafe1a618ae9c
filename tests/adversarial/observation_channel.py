# threat: interfere with the grader's channel: garbage and forged frames on the observations pipe, closed and redirected output
# expect: full=double-backward attacked=second-derivative-cost/values,second-derivative-cost/graph-size,sin-derivative-plot/values,sin-derivative-plot/plot
"""Finds the pipe the child reports on and writes into it, or cuts it."""

import fcntl
import json
import os
import struct

import torch


def _report_pipe():
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and os.readlink(f"/proc/self/fd/{name}").startswith("pipe:") and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_WRONLY:
                return fd
        except OSError:
            continue  # the descriptor listdir itself used, closed by now
    raise RuntimeError("no report pipe found")


def _frame(message):
    body = json.dumps(message).encode()
    return struct.pack(">I", len(body)) + body


def second_derivative(f, x):
    os.write(_report_pipe(), b"\xff\xff garbage that is not a frame " * 10)
    return torch.zeros_like(x)


def graph_size(t):
    fake = {"type": "call", "index": 10**6, "outcome": "returned", "value": {"t": "int", "v": 7}}
    os.write(_report_pipe(), _frame(fake) + _frame({"type": "done"}))
    return 7


def plot_sin_and_grad(x):
    os.close(_report_pipe())


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


def _report_through_stdout():
    os.close(1)
    os.close(2)
    os.dup2(_report_pipe(), 1)
    print(json.dumps({"type": "call", "index": 0, "outcome": "returned", "value": {"t": "int", "v": 1}}))


def sin_and_grad(x):
    _report_through_stdout()
    return x, x
