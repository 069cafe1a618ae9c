"""Hints from how a value is wrong (only with their evidence), and the provenance of returned gradients.

Accumulation, weighting and finite differences are read from the relation between what came back
and what was expected, in exercises whose specs say nothing about them; the provenance check reads
whether the returned tensor is one autograd produced in the call.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import by_id, en, zh
from grader.checks.diagnosis import constant_ratio, difference_quotient_error, looks_like_finite_differences
from grader.checks.provenance import ReturnsGradientCheck
from grader.hints import exception_hint
from grader.observations import ExceptionReport, StudentFrame

SECTION_F = """
import torch

def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c
"""

THROWAWAY = """
import math
import torch

def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()                      # autograd runs...
    return y.detach(), torch.sin(x.detach() + math.pi / 2)   # ...but this is not its gradient

def second_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    (dy,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    torch.autograd.grad(dy.sum(), x)         # thrown away
    h = 1e-4
    return ((f(x + h) - 2 * f(x) + f(x - h)) / (h * h)).detach()
"""


def test_accumulation_in_grad_is_caught_and_hinted_where_no_spec_configured_it(grade_source, only):
    source = """
import torch

def sin_and_grad(x):
    x.requires_grad_(True)      # the caller's tensor becomes the leaf: its .grad survives the call
    y = torch.sin(x)
    y.sum().backward()
    return y.detach(), x.grad
"""
    values = by_id(grade_source(source, only("sin-derivative-plot")))["sin-derivative-plot"]["values"]
    assert (values.status, values.score) == ("failed", 0)
    assert "in 2 of 4 calls" in en(values.message) and "Everywhere, dydx is 2 times the expected value." in en(values.message)
    assert values.hint.key == "accumulated_repeat_hint"
    assert "sin_and_grad returned dydx at 1, then 2 times the expected value" in en(values.hint)
    assert "x.grad.zero_()" in en(values.hint) and "依次是期望值的 1、2 倍" in zh(values.hint)


def test_one_leaf_kept_across_calls_is_a_running_sum_of_the_gradients(grade_source, only):
    source = """
import torch

LEAF = torch.zeros(64, dtype=torch.float64, requires_grad=True)

def sin_and_grad(x):
    with torch.no_grad():
        LEAF.copy_(x)
    y = torch.sin(LEAF)
    y.sum().backward()
    return y.detach(), LEAF.grad.clone()
"""
    values = by_id(grade_source(source, only("sin-derivative-plot")))["sin-derivative-plot"]["values"]
    assert values.status == "failed" and "in 3 of 4 calls" in en(values.message)
    assert values.hint.key == "accumulated_sum_hint" and "sum of the expected gradients of every call so far" in en(values.hint)


def test_a_cosine_answer_gets_no_finite_difference_hint(grade_source, only, sandbox):
    source = """
import torch

def sin_and_grad(x):
    return torch.sin(x), torch.cos(x)
"""
    graded = grade_source(source, only("sin-derivative-plot"))
    checks = by_id(graded)["sin-derivative-plot"]
    assert checks["values"].status == "passed" and checks["values"].hint is None  # exact values: nothing to explain
    assert checks["gradient-from-autograd"].status == "failed"
    assert "autograd did not run in 4 of 4 calls" in en(checks["gradient-from-autograd"].message)
    assert checks["gradient-from-autograd"].hint is None
    # Autograd did not run: the hint says to use it, and says nothing of finite differences.
    assert checks["autograd"].status == "failed" and checks["autograd"].hint.key == "use_autograd_hint"
    assert "Finite differences" not in en(checks["autograd"].hint) and "有限差分" not in zh(checks["autograd"].hint)
    # The evidence the autograd check asks for before blaming finite differences: there is none here.
    context = _context(graded, sandbox, only("sin-derivative-plot")[0])
    assert looks_like_finite_differences(context, ["values"]) is False


def test_finite_differences_are_recognised_by_their_error_with_no_autograd_run(grade_source, only, sandbox):
    source = """
import torch

def sin_and_grad(x):
    h = 1e-5
    return torch.sin(x), (torch.sin(x + h) - torch.sin(x - h)) / (2 * h)
"""
    graded = grade_source(source, only("sin-derivative-plot"))
    checks = by_id(graded)["sin-derivative-plot"]
    values = checks["values"]
    assert values.status == "failed" and values.hint.key == "finite_difference_hint"
    assert checks["autograd"].status == "failed" and checks["autograd"].hint.key == "finite_difference_hint"
    assert looks_like_finite_differences(_context(graded, sandbox, only("sin-derivative-plot")[0]), ["values"]) is True


def test_wrong_values_of_f_are_facts_with_no_finite_difference_hint(grade_source, only):
    source = """
import torch

def f(a):                # the 100 * b branch is missing: f is not a gradient, nor close to the answer
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    return b
"""
    values = by_id(grade_source(source, only("vector-control-flow")))["vector-control-flow"]["f-values"]
    assert values.status == "failed" and "f(" in en(values.message) and "|diff|" in en(values.message)
    assert values.hint is None


def test_a_function_that_returned_none_is_not_blamed_on_x_grad(grade_source, only):
    source = SECTION_F.replace("    return c\n", "    c\n") + """
def grad_f(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).sum().backward()
    return a.grad
"""
    gradient = by_id(grade_source(source, only("vector-control-flow")))["vector-control-flow"]["gradient"]
    assert gradient.status == "error" and "'NoneType' object has no attribute 'sum'" in en(gradient.message)
    assert gradient.hint.key == "none_returned_hint" and "f(...) returned None" in en(gradient.hint)
    assert "x.grad is None" not in en(gradient.hint)


def _frame(text: str) -> list[StudentFrame]:
    return [StudentFrame(line=3, function="grad_f", text=text)]


@pytest.mark.parametrize("type_name, message, line, key", [
    ("AttributeError", "'NoneType' object has no attribute 'numpy'", "return x.grad.numpy()", "grad_none_hint"),
    ("TypeError", "unsupported operand type(s) for *: 'NoneType' and 'int'", "return 2 * x.grad", "grad_none_hint"),
    ("AttributeError", "'NoneType' object has no attribute 'backward'", "f(a).backward()", "none_returned_hint"),
    ("AttributeError", "'NoneType' object has no attribute 'sum'", "total = helper.compute(a).sum()", "none_returned_hint"),
    ("TypeError", "unsupported operand type(s) for *: 'NoneType' and 'int'", "return 2 * y", None),
    ("AttributeError", "'NoneType' object has no attribute 'sum'", "", None),
])
def test_a_none_is_blamed_on_what_the_failing_line_shows(type_name, message, line, key):
    exc = ExceptionReport(type=type_name, module="builtins", message=message, origin="library",
                          frames=_frame(line) if line else [])
    hint = exception_hint(exc)
    assert (hint.key if hint else None) == key


def test_the_throwaway_backward_answer_fails_provenance_in_both_exercises(grade_source, only):
    checks = by_id(grade_source(THROWAWAY, only("sin-derivative-plot", "second-derivative-cost")))
    sin = checks["sin-derivative-plot"]
    assert sin["values"].status == "passed" and sin["autograd"].status == "passed"  # right numbers, autograd ran...
    provenance = sin["gradient-from-autograd"]
    assert (provenance.status, provenance.score, provenance.max_score) == ("failed", 0, 1)  # ...but not its answer
    assert en(provenance.message).startswith("dydx is not a gradient autograd produced in 4 of 4 calls: it equals no "
                                             ".grad, torch.autograd.grad or torch.func result of its call")
    assert provenance.hint.key == "provenance_hint" and "x.grad after backward()" in en(provenance.hint)
    second = checks["second-derivative-cost"]
    assert second["autograd"].status == "passed"  # create_graph=True ran
    assert second["gradient-from-autograd"].status == "failed" and second["gradient-from-autograd"].score == 0
    assert "The result is not a gradient autograd produced in 8 of 8 calls" in en(second["gradient-from-autograd"].message)


def test_a_first_derivative_is_not_a_second_one(grade_source, only):
    source = """
import torch

def second_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    (dy,) = torch.autograd.grad(f(x).sum(), x)
    return dy
"""
    provenance = by_id(grade_source(source, only("second-derivative-cost")))["second-derivative-cost"]["gradient-from-autograd"]
    assert provenance.status == "failed"
    assert "comes from torch.autograd.grad, but not from a differentiation after a create_graph=True run" in en(provenance.message)
    assert provenance.hint.key == "create_graph_hint"


def test_returns_gradient_names_must_match_outputs():
    with pytest.raises(ValueError):
        ReturnsGradientCheck(id="p", kind="returns_gradient", calls=["values"], outputs=[[-1]])
    check = ReturnsGradientCheck(id="p", kind="returns_gradient", calls=["values"], outputs=[[1]], names=["a", "b"])
    assert check.problems_in(None) == [(("names",), "gives 2 names for 1 outputs")]  # type: ignore[arg-type]


def test_relations_are_read_exactly():
    expected = np.array([1.0, -2.0, 0.0, 4.0])
    assert constant_ratio(3 * expected, expected) == pytest.approx(3)
    assert constant_ratio(3 * expected + np.array([0, 0, 1e-3, 0]), expected) is None  # 0 must stay 0
    assert constant_ratio(expected * np.array([1, 2, 1, 1]), expected) is None
    quotient = np.cos(np.linspace(-3, 3, 50))
    assert difference_quotient_error(quotient * (1 + 1e-10), quotient)
    assert not difference_quotient_error(quotient, quotient)                   # exact: not finite differences
    assert not difference_quotient_error(quotient * 1.5, quotient)             # far off: some other mistake


def _context(graded, sandbox, loaded):
    """A judge's context for a graded submission (re-run, to read its observations)."""
    from grader.checks.base import CheckContext
    from grader.grading import GradeOptions, request_for
    from grader.plan import build_plan
    from grader.source import load_submission

    submission = load_submission(_path_of(graded))
    plans = []

    def plan_for(module):
        plans.append(build_plan([loaded.spec], module, 1234))
        return [call.wire() for call in plans[0].calls]

    run = sandbox.run(request_for([loaded], submission, GradeOptions(seed=1234)), plan_for, 5.0, 60.0)
    return CheckContext(loaded.spec, plans[0], run.module, run.calls, submission, sandbox.references, loaded.reference_key)


def _path_of(graded):
    from pathlib import Path

    return Path(graded.identity)
