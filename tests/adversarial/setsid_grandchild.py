# threat: a setsid grandchild that ignores SIGTERM and keeps running after the call returns
# expect: full=double-backward attacked=sin-derivative-plot/plot
"""Starts processes that leave the child's session and process group, then returns."""

import os
import signal
import sys
import time

import torch

TAG = "adversarial-tag"


def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    return y.detach(), x.grad


def _escape(how):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:  # the grandchild, orphaned at once: a daemon
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            if how == "exec":
                os.execv(sys.executable, [sys.executable, "-c", "import signal, time\nsignal.signal(15, signal.SIG_IGN)\ntime.sleep(600)", TAG])
            while True:
                time.sleep(1)
        os._exit(0)


def plot_sin_and_grad(x):
    _escape("exec")
    _escape("fork")
    time.sleep(0.2)
    return None


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
