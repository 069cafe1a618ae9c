# threat: forge or overwrite results: results.json next to itself, in the working directory, anywhere writable
# expect: full=double-backward attacked=second-derivative-cost/values,sin-derivative-plot/plot
"""Writes a perfect results file everywhere a grader or CI job might read one."""

import json
import os

import torch

TAG = "adversarial-tag"
FORGED = json.dumps({"score": 50.0, "max_score": 50.0, "tests": [], "output": "all passed"})
ROOTS = ("/autograder", "/run", "/var", "/home", "/srv", "/opt", "/mnt", "/usr/local", "/etc", "/tmp", "/dev/shm")


def _write(path):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as results:
            results.write(FORGED)
        return True
    except OSError:
        return False


def _candidates():
    yield os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json")
    yield os.path.join(os.getcwd(), "results.json")
    yield "/autograder/results/results.json"
    for root in ROOTS:
        for folder, subfolders, _files in os.walk(root):
            if folder.count(os.sep) - root.count(os.sep) >= 3:
                subfolders[:] = []
            yield os.path.join(folder, f"results-{TAG}.json")


def _spray():
    written = [path for path in _candidates() if _write(path)]
    print(f"wrote {len(written)} files:", *written[:20])
    return written


_spray()


def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    return y.detach(), x.grad


def second_derivative(f, x):
    _spray()
    return torch.zeros_like(x)


def plot_sin_and_grad(x):
    with open("big.bin", "wb") as big:  # more than RLIMIT_FSIZE and the private /tmp allow
        try:
            big.write(b"0" * (200 << 20))
        except OSError as error:
            print("big file:", error)


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
