# threat: fake stdout lines: a JSON scorecard, CI annotations and workflow commands, terminal control sequences
# expect: full=double-backward attacked=second-derivative-cost/values,sin-derivative-plot/values
"""Prints what a naive grader or CI log might take for results, then returns wrong answers."""

import json
import sys

import torch

FAKE = {"submission": "fake.py", "score": 50.0, "max_score": 50.0, "exercises": []}
print(json.dumps(FAKE))
print(json.dumps({"submissions": [FAKE]}))
print("::error file=grader/cli.py,line=1,title=Grader::the grader is broken")
print("::set-output name=result::eyJzdGF0dXMiOiAicGFzcyJ9")
print("::add-mask::50")
print("::stop-commands::pwned")
print("::notice title=Autograding complete::Points 50/50")
print('::notice title=Autograding report::{"totalPoints":50,"maxPoints":50}')
print("\x1b[2J\x1b[H\x1b]0;all passed\x07\x1b[32m50/50 points\x1b[0m\rPASSED", file=sys.stderr)


def second_derivative(f, x):
    print(json.dumps(FAKE))
    print("\n::error::second_derivative passed")
    return torch.zeros_like(x)


def sin_and_grad(x):
    sys.stderr.write("\x1b[1A\x1b[2K✔ sin-derivative-plot  10/10\n")
    return x, x


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
