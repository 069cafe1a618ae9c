"""Answers written the way the book's readers write them: list legends, d2l, helpers, demo lines, warnings."""

from __future__ import annotations

import pytest

from conftest import by_id, en

SIN_AND_GRAD = """
import torch
import matplotlib.pyplot as plt

def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    return y.detach(), x.grad
"""


@pytest.fixture
def plot_only(builtin):
    return [e for e in builtin if e.spec.id == "sin-derivative-plot"]


LEGEND_FORMS = {
    "label_then_legend": """
def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    plt.plot(x, y, label="sin(x)")
    plt.plot(x, dy, label="d sin/dx")
    plt.legend()
""",
    "plt_legend_list": """
def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    plt.plot(x, y)
    plt.plot(x, dy)
    plt.legend(['sin(x)', "sin'(x)"])
""",
    "ax_legend_list": """
def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    fig, ax = plt.subplots()
    ax.plot(x.numpy(), y.numpy(), x.numpy(), dy.numpy())
    ax.legend(['f(x) = sin(x)', "f'(x)"])
""",
    "handles_and_labels": """
def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    (a,) = plt.plot(x, y)
    (b,) = plt.plot(x, dy, "--")
    plt.legend([b, a], ["derivative", "sine"])
""",
    "figure_legend": """
def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    fig = plt.figure()
    ax = fig.add_subplot()
    ax.plot(x, y)
    ax.plot(x, dy)
    fig.legend(["sin", "its gradient"])
""",
    "own_titled_axes": """
def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    fig, (top, bottom) = plt.subplots(2, 1)
    top.plot(x, y)
    top.set_title("sin(x)")
    bottom.plot(x, dy)
    bottom.set_title("derivative of sin(x)")
""",
    "d2l_plot_legend": """
from d2l import torch as d2l

def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    d2l.plot(x.detach(), [y, dy], 'x', 'f(x)', legend=['f(x)', 'df(x)/dx'])
""",
}


@pytest.mark.parametrize("form", sorted(LEGEND_FORMS))
def test_every_way_of_making_a_legend_labels_the_curves(form, grade_source, plot_only):
    card = grade_source(SIN_AND_GRAD + LEGEND_FORMS[form], plot_only).scorecard
    plot = {e.id: {c.id: c for c in e.checks} for e in card.exercises}["sin-derivative-plot"]["plot"]
    assert plot.status == "passed", en(plot.message)
    assert card.score == card.max_score, [(c.id, en(c.message)) for e in card.exercises for c in e.checks if c.status != "passed"]


UNLABELLED = {
    "no_legend": """
def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    plt.plot(x, y)
    plt.plot(x, dy)
""",
    "legend_names_one_curve": """
def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    plt.plot(x, y)
    plt.plot(x, dy)
    plt.legend(['sin(x)'])
""",
    "same_label_twice": """
def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    plt.plot(x, y, label="y")
    plt.plot(x, dy, label="y")
    plt.legend()
""",
    "labels_but_no_legend": """
def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    plt.plot(x, y, label="sin")
    plt.plot(x, dy, label="cos-like")
""",
}


@pytest.mark.parametrize("form", sorted(UNLABELLED))
def test_curves_not_told_apart_are_still_caught(form, grade_source, plot_only):
    plot = by_id(grade_source(SIN_AND_GRAD + UNLABELLED[form], plot_only))["sin-derivative-plot"]["plot"]
    assert plot.status == "failed" and "tells them apart" in en(plot.message).replace("nothing tells", "tells")


def test_control_flow_inside_a_helper_counts(grade_source, only):
    source = """
import torch

def piece(x):
    if x > 0:
        return x ** 2
    return -3 * x

def g(x):
    return piece(x)

def g_grad(x):
    return 2 * x if x > 0 else torch.tensor(-3.0, dtype=x.dtype)
"""
    checks = by_id(grade_source(source, only("custom-control-flow")))["custom-control-flow"]
    assert checks["control-flow"].status == "passed", en(checks["control-flow"].message)
    assert all(c.status == "passed" for c in checks.values())


def test_a_helper_branch_never_taken_is_named_by_its_own_line(grade_source, only):
    source = """
import torch

def piece(x):
    if x > 100:
        return x ** 2
    return -3 * x

g = lambda x: piece(x)

def g_grad(x):
    return torch.tensor(-3.0, dtype=x.dtype)
"""
    check = by_id(grade_source(source, only("custom-control-flow")))["custom-control-flow"]["control-flow"]
    assert check.status == "failed"
    assert check.line == 6 and "6" in en(check.message)  # the `return x ** 2` inside the helper


def test_no_branch_anywhere_reachable_is_still_no_control_flow(grade_source, only):
    source = """
import torch

def double(x):
    return 2 * x

def g(x):
    return double(x) + 1

def g_grad(x):
    return 2.0
"""
    check = by_id(grade_source(source, only("custom-control-flow")))["custom-control-flow"]["control-flow"]
    assert check.status == "failed" and "no if, while or for" in en(check.message)


def test_a_torch_warning_points_at_the_students_line(grade_source, only):
    source = """
import torch

def f(a):
    b = torch.tensor(a) * 2
    while b.norm() < 1000:
        b = b * 2
    return b if b.sum() > 0 else 100 * b
"""
    card = grade_source(source, only("vector-control-flow")).scorecard
    output = card.run.output
    assert "submission.py:5: UserWarning" in output, output
    assert "grader" not in output and "instrument.py" not in output
    assert output.count("UserWarning") == 1  # once per location, as Python shows it


def test_a_failing_demo_line_costs_nothing_else(grade_source, only):
    source = """
import torch
from my_helpers import plot_curves   # a file of the student's that was not submitted

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

print(backward_twice_retained(torch.arange(3.0)))
backward_twice(torch.arange(3.0))     # the demo of the error, left in
"""
    card = grade_source(source, only("double-backward")).scorecard
    assert card.score == card.max_score and card.error is None
    problems = [(p.line, en(p.message).split(":")[0]) for p in card.top_level_errors]
    assert [line for line, _ in problems] == [3, 27]
    assert "ModuleNotFoundError" in en(card.top_level_errors[0].message)
    assert "'my_helpers'" in en(card.top_level_errors[0].hint)
    assert "RuntimeError" in en(card.top_level_errors[1].message)
    assert card.top_level_errors[1].traceback[-1].line == 9  # the second y.backward() inside the function


def test_a_function_that_uses_the_missing_import_loses_only_its_own_points(grade_source, only):
    source = """
import torch
import seaborn_that_is_not_installed as sns

def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    return y.detach(), x.grad

def plot_sin_and_grad(x):
    y, dy = sin_and_grad(x)
    sns.lineplot(x=x, y=y)
"""
    checks = by_id(grade_source(source, only("sin-derivative-plot")))["sin-derivative-plot"]
    assert checks["values"].status == "passed" and checks["autograd"].status == "passed"
    assert checks["plot"].status == "error" and "NameError" in en(checks["plot"].message)


def test_a_branch_that_changes_nothing_is_not_control_flow(grade_source, only):
    source = """
import torch

def g(x):
    if x > 0:
        pass          # two paths through the code, one computation
    return x * x

def g_grad(x):
    return 2 * x
"""
    check = by_id(grade_source(source, only("custom-control-flow")))["custom-control-flow"]["control-flow"]
    assert check.status == "failed" and check.details["paths"] == 2 and check.details["computations"] == 1
    assert "compute the same thing" in en(check.message)


def test_branches_differing_only_in_a_constant_are_control_flow(grade_source, only):
    source = """
import torch

def g(x):
    if x > 0:
        return 2 * x
    return 3 * x

def g_grad(x):
    return torch.tensor(2.0 if x > 0 else 3.0, dtype=x.dtype)
"""
    check = by_id(grade_source(source, only("custom-control-flow")))["custom-control-flow"]["control-flow"]
    assert check.status == "passed" and check.details["computations"] == 2
