"""Each check kind judged on hand-made observations, good and bad (no child involved)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import en
from grader.checks import BUILTIN_KINDS
from grader.checks.base import CheckContext
from grader.observations import CallOutcome, CallReport, ModuleReport
from grader.plan import build_plan
from grader.sandbox.references import InProcessReferences
from grader.source import Submission
from grader.spec.loader import exercise_model
from grader.wire import encode_array

SPEC = {
    "id": "unit",
    "title": "Unit",
    "functions": {"h": {"signature": "(x)", "summary": "h"}, "h_grad": {"signature": "(x)", "summary": "dh"}},
    "inputs": {"x": {"kind": "tensor", "shape": [3]}, "s": {"kind": "tensor", "shape": []}},
    "calls": {
        "values": {"function": "h", "args": ["x"], "repeat": 2},
        "points": {"function": "h", "args": ["s"], "samples": 3, "grad": True},
        "by_hand": {"function": "h_grad", "args": ["s"], "samples": 3},
    },
}
SOURCE = "def h(x):\n    if x.sum() > 0:\n        return x\n    return -x\n\ndef h_grad(x):\n    return 1.0\n"


def tensor(values, dtype="float64", requires_grad=False):
    array = np.asarray(values, dtype=np.float64)
    return {"t": "tensor", "requires_grad": requires_grad, **encode_array(array, dtype)}


def judge(check, reports, functions=("h", "h_grad"), attributes=None, source=SOURCE, reference=None, references=None):
    """Judge one check given a function from each planned call to its report fields."""
    spec = exercise_model().model_validate({**SPEC, "checks": [check]})
    module = ModuleReport.model_validate_json(json.dumps({
        "type": "module", "ok": True, "attributes": attributes or {},
        "functions": {n: {"defined": n in functions, "callable": True, "line": 1} for n in SPEC["functions"]}}))
    plan = build_plan([spec], module, seed=1)
    outcomes = {}
    for call in plan.calls:
        fields = reports(call)
        status = fields.pop("status", None)
        if status in ("timeout", "crashed"):
            outcomes[call.index] = (CallOutcome(call.index, status, detail="1", reason="call_timeout") if status == "timeout"
                                    else CallOutcome(call.index, status, detail="killed by SIGSEGV"))
            continue
        fields.setdefault("events", {"ops": [], "watched": {}, "autograd": [], "autograd_count": 0})
        # As on the real wire: JSON text, validated strictly.
        report = CallReport.model_validate_json(json.dumps({"type": "call", "index": call.index, **fields}))
        outcomes[call.index] = CallOutcome(call.index, report.outcome, report)
    submission = Submission(path=Path("s.py"), display="s.py", source=source, kind="python")
    # Reference functions run in this process here, answering in plain data as the worker does.
    references = references or InProcessReferences(reference or {})
    context = CheckContext(spec, plan, module, outcomes, submission, references, "unit")
    return BUILTIN_KINDS[check["kind"]].judge(spec.checks[0], context)


def input_of(call):
    from grader.wire import decode_array

    return decode_array(call.args[0]["array"])


def returned(value, **extra):
    return {"outcome": "returned", "value": value, **extra}


# -- compare ------------------------------------------------------------------------------
COMPARE = {"id": "c", "kind": "compare", "calls": "values", "reference": "double", "rtol": 1e-12, "atol": 0}
REF = {"double": lambda x: 2 * x}


def test_compare_passes_on_equal_values():
    verdict = judge(COMPARE, lambda call: returned(tensor(2 * input_of(call))), reference=REF)
    assert verdict.status == "passed"


class CountingReferences(InProcessReferences):
    """In-process references that remember each round trip a worker would make."""

    def __init__(self, functions):
        super().__init__(functions)
        self.trips = []

    def call(self, module, function, args):
        self.trips.append((function, 1))
        return super().call(module, function, args)

    def call_many(self, module, function, each):
        self.trips.append((function, len(each)))
        return [InProcessReferences.call(self, module, function, args) for args in each]


def test_the_reference_values_of_a_call_set_come_in_one_round_trip():
    counting = CountingReferences(REF)
    check = {**COMPARE, "calls": "points"}
    verdict = judge(check, lambda call: returned(tensor(2 * input_of(call))), references=counting)
    assert verdict.status == "passed"
    assert counting.trips == [("double", 3)]  # three samples, asked for one by one by the check


def test_a_reference_that_fails_on_one_sample_of_a_batch_still_blames_the_exercise():
    from grader.checks.base import ReferenceFailure

    answered = []

    def double_but_not_twice(x):
        answered.append(x)
        if len(answered) == 2:
            raise ValueError("the second sample")
        return 2 * x

    check = {**COMPARE, "calls": "points"}
    with pytest.raises(ReferenceFailure, match="double\\(\\) raised ValueError: the second sample"):
        judge(check, lambda call: returned(tensor(2 * input_of(call))), reference={"double": double_but_not_twice})
    assert len(answered) == 3  # the batch went on past the failure


def test_compare_fails_on_values_and_says_where():
    verdict = judge(COMPARE, lambda call: returned(tensor(2 * input_of(call) + [0, 0, 1e-6])), reference=REF)
    assert verdict.status == "failed" and "1 of 3 entries" in en(verdict.message) and "[2]" in en(verdict.message)


@pytest.mark.parametrize("value, words", [
    ({"t": "object", "cls": "AlwaysEqual"}, "object of class AlwaysEqual"),
    ({"t": "float", "v": 1.0}, "a float"),
    ({"t": "ndarray", **encode_array(np.zeros(3), "float64")}, "numpy array"),
])
def test_compare_requires_exact_types(value, words):
    verdict = judge(COMPARE, lambda call: returned(value), reference=REF)
    assert verdict.status == "failed" and words in en(verdict.message)


def test_compare_requires_shape_and_dtype():
    shape = judge(COMPARE, lambda call: returned(tensor(np.zeros((3, 1)))), reference=REF)
    dtype = judge(COMPARE, lambda call: returned(tensor(2 * input_of(call), dtype="float32")), reference=REF)
    assert "shape [3, 1]" in en(shape.message) and "float32" in en(dtype.message) and en(dtype.hint)


def test_compare_nan_never_matches():
    verdict = judge(COMPARE, lambda call: returned(tensor([np.nan, np.nan, np.nan])), reference=REF)
    assert verdict.status == "failed" and "NaN" in en(verdict.message)


def test_compare_recognises_gradients_accumulating_between_calls():
    verdict = judge(COMPARE, lambda call: returned(tensor(2 * input_of(call) * (call.repeat + 1))), reference=REF)
    assert verdict.status == "failed" and "accumulate" in en(verdict.hint)


def test_compare_reports_errors_of_the_call():
    raised = judge(COMPARE, lambda call: {"outcome": "raised", "exception": {
        "type": "RuntimeError", "module": "builtins", "origin": "library",
        "message": "grad can be implicitly created only for scalar outputs", "frames": [{"line": 4, "function": "h", "text": ""}]}},
        reference=REF)
    timeout = judge(COMPARE, lambda call: {"status": "timeout"}, reference=REF)
    assert raised.status == "error" and raised.line == 4 and "gradient=torch.ones_like" in en(raised.hint)
    assert timeout.status == "error" and "did not return within" in en(timeout.message)


def test_missing_function_names_its_signature():
    verdict = judge(COMPARE, lambda call: returned(None), functions=("h_grad",), reference=REF)
    assert verdict.status == "error" and "h(x)" in en(verdict.message)


# -- raises -------------------------------------------------------------------------------
RAISES = {"id": "r", "kind": "raises", "calls": "values", "exception": "RuntimeError", "match": "second time", "origin": "library"}


def raising(type_="RuntimeError", message="backward through the graph a second time", origin="library"):
    return lambda call: {"outcome": "raised", "exception": {"type": type_, "module": "builtins", "message": message,
                                                           "origin": origin, "frames": [{"line": 3, "function": "h", "text": ""}]}}


def test_raises_passes_on_the_right_error():
    assert judge(RAISES, raising()).status == "passed"


def test_raises_from_autograd_wants_autograds_own_exception():
    check = {**RAISES, "origin": "autograd"}
    assert judge(check, raising(origin="autograd")).status == "passed"
    elsewhere = judge(check, raising(origin="library"))  # torch._check(False, ...) outside any backward()
    own = judge(check, raising(origin="submission"))
    assert elsewhere.status == own.status == "failed"
    assert "not from an autograd run" in en(elsewhere.message) and "itself" in en(own.message)


@pytest.mark.parametrize("reports, words", [
    (lambda call: returned({"t": "none"}), "returned normally"),
    (raising(type_="ValueError"), "expected RuntimeError"),
    (raising(message="something else"), "does not match"),
    (raising(origin="submission"), "itself"),
])
def test_raises_fails_otherwise(reports, words):
    verdict = judge(RAISES, reports)
    assert verdict.status == "failed" and words in en(verdict.message)


# -- forbid -------------------------------------------------------------------------------
def events(**overrides):
    return {"ops": [], "watched": {}, "autograd": [], "autograd_count": 0, **overrides}


def test_forbid_ops_sees_torch_and_numpy_cosines():
    check = {"id": "f", "kind": "forbid_ops", "calls": ["values"], "ops": ["torch.cos", "numpy.cos"]}
    clean = judge(check, lambda call: returned(tensor([1, 2, 3]), events=events(ops=["torch.sin"])))
    torch_cos = judge(check, lambda call: returned(tensor([1, 2, 3]), events=events(ops=["torch.cos"])))
    numpy_cos = judge(check, lambda call: returned(tensor([1, 2, 3]), events=events(watched={"numpy.cos": 2})))
    assert clean.status == "passed"
    assert torch_cos.status == numpy_cos.status == "failed" and "numpy.cos" in en(numpy_cos.message)


def test_forbid_source_finds_names_in_any_form():
    check = {"id": "s", "kind": "forbid_source", "names": ["cos"]}
    for source, line in [("import torch\ny = torch.cos(1)\n", 2), ("from math import cos as c\n", 1),
                         ("import numpy as np\nf = getattr(np, 'cos')\n", 2)]:
        verdict = judge(check, lambda call: returned(None), source=source)
        assert verdict.status == "failed" and verdict.line == line, source
    assert judge(check, lambda call: returned(None), source="# cos in a comment\ncosine = 1\n").status == "passed"


# -- autograd -----------------------------------------------------------------------------
AUTOGRAD = {"id": "a", "kind": "autograd", "calls": ["values"], "create_graph": True}


def test_autograd_needs_create_graph_when_asked():
    flat = judge(AUTOGRAD, lambda call: returned(None, events=events(autograd_count=1, autograd=[
        {"api": "grad", "create_graph": False, "retain_graph": False}])))
    deep = judge(AUTOGRAD, lambda call: returned(None, events=events(autograd_count=2, autograd=[
        {"api": "grad", "create_graph": True, "retain_graph": False}, {"api": "grad", "create_graph": False, "retain_graph": False}])))
    none = judge(AUTOGRAD, lambda call: returned(None))
    assert (flat.status, deep.status, none.status) == ("failed", "passed", "failed")
    assert "create_graph" in en(flat.message)
    # No values show a difference quotient here: the hint asks for autograd and blames no finite differences.
    assert none.hint.key == "use_autograd_hint" and "asks for autograd" in en(none.hint) and "finite" not in en(none.hint).lower()


def test_autograd_not_used_for_hand_derivations():
    check = {"id": "n", "kind": "autograd", "calls": ["by_hand"], "expect": "not_used"}
    assert judge(check, lambda call: returned(None)).status == "passed"
    assert judge(check, lambda call: returned(None, events=events(autograd_count=1))).status == "failed"


def test_many_autograd_runs_earn_a_tip_not_a_deduction():
    check = {"id": "l", "kind": "autograd", "calls": ["values"], "loop_tip_above": 2}
    verdict = judge(check, lambda call: returned(None, events=events(autograd_count=12)))
    assert verdict.status == "passed" and verdict.tips and "12" in en(verdict.tips[0])


PROVENANCE = {"id": "r", "kind": "returns_gradient", "calls": ["values"], "names": ["dh"]}


def test_returned_value_must_be_autograds_own():
    own = judge(PROVENANCE, lambda call: returned(tensor([1, 2, 3]), events=events(autograd_count=1),
                                                  provenance=[{"path": [], "autograd": True, "route": "backward"}]))
    beside = judge(PROVENANCE, lambda call: returned(tensor([1, 2, 3]), events=events(autograd_count=1),
                                                     provenance=[{"path": [], "autograd": False}]))
    no_run = judge(PROVENANCE, lambda call: returned(tensor([1, 2, 3]), provenance=[{"path": [], "autograd": False}]))
    assert own.status == "passed" and "backward()" in en(own.message)
    assert beside.status == "failed" and beside.hint is not None and "dh" in en(beside.message)
    assert no_run.status == "failed" and no_run.hint is None


def test_second_derivative_must_follow_create_graph():
    check = {**PROVENANCE, "after_create_graph": True}
    first = judge(check, lambda call: returned(tensor([1, 2, 3]), events=events(autograd_count=1),
                                               provenance=[{"path": [], "autograd": True, "route": "grad"}]))
    second = judge(check, lambda call: returned(tensor([1, 2, 3]), events=events(autograd_count=2), provenance=[
        {"path": [], "autograd": True, "route": "grad", "after_create_graph": True}]))
    assert (first.status, second.status) == ("failed", "passed")
    assert "create_graph" in en(first.hint)


# -- control flow -------------------------------------------------------------------------
FLOW = {"id": "p", "kind": "control_flow", "calls": "points", "min_paths": 2}


def test_control_flow_counts_distinct_paths():
    two = judge(FLOW, lambda call: returned(tensor(0.0), events=events(arcs=[[1, -1, 2], [1, 2, 3 + call.sample % 2]])))
    one = judge(FLOW, lambda call: returned(tensor(0.0), events=events(arcs=[[1, -1, 2], [1, 2, 3]])))
    assert two.status == "passed"
    assert one.status == "failed" and "Lines never reached: 4" in en(one.message) and en(one.hint)


def test_control_flow_wants_a_branch_in_the_function():
    verdict = judge(FLOW, lambda call: returned(tensor(0.0), events=events(arcs=[])), source="def h(x):\n    return x\n")
    assert verdict.status == "failed" and "no if, while or for" in en(verdict.message)


# -- gradient consistency -----------------------------------------------------------------
CONSISTENT = {"id": "g", "kind": "gradient_consistency", "calls": "points", "against": "by_hand", "rtol": 1e-9, "atol": 0}


def test_hand_gradient_must_match_autograd_at_every_point():
    def reports(wrong_when):
        def make(call):
            x = float(input_of(call).ravel()[0])
            if call.call_set == "points":
                return returned(tensor(x * x), grad=tensor(2 * x))
            return returned({"t": "float", "v": 2 * x + (1.0 if wrong_when(x) else 0.0)})
        return make

    assert judge(CONSISTENT, reports(lambda x: False)).status == "passed"
    wrong = judge(CONSISTENT, reports(lambda x: True))
    assert wrong.status == "failed" and "3 of 3 points" in en(wrong.message)


def test_a_function_without_a_graph_cannot_be_differentiated():
    verdict = judge(CONSISTENT, lambda call: returned(tensor(0.0), grad_error="no_graph"))
    assert verdict.status == "failed" and "does not require grad" in en(verdict.message)


# -- plot ---------------------------------------------------------------------------------
PLOT = {"id": "pl", "kind": "plot", "calls": "values",
        "curves": [{"name": "sin(x)", "reference": "sin"}, {"name": "cos(x)", "reference": "cos"}]}
CURVES = {"sin": lambda x: x.sin(), "cos": lambda x: x.cos()}


def figure(series, legend=True, size=(6, 4), requested=None):
    xs = np.linspace(-3, 3, 50)
    drawn = [{"label": label, "kind": "line", "x": encode_array(xs, "float64"), "y": encode_array(f(xs), "float64"),
              "truncated": False, "legend_label": label if legend else None} for label, f in series]
    return {"size_inches": list(size), "requested_size_inches": requested, "requested_dpi": None, "legends": [],
            "suptitle": "", "png": base64.b64encode(b"\x89PNG").decode(),
            "axes": [{"title": "", "xlabel": "x", "ylabel": "", "texts": [],
                      "legend": [label for label, _ in series] if legend else None, "series": drawn}]}


def plotted(*figures):
    return lambda call: returned({"t": "none"}, events=events(figures=list(figures)))


def test_plot_finds_both_curves_and_the_legend():
    verdict = judge(PLOT, plotted(figure([("sin", np.sin), ("d/dx", np.cos)])), reference=CURVES)
    assert verdict.status == "passed" and verdict.attachments


@pytest.mark.parametrize("fig, words", [
    (figure([("sin", np.sin)]), "cos(x)"),
    (figure([("sin", np.sin), ("d/dx", lambda x: -np.cos(x))]), "cos(x)"),
    (figure([("sin", np.sin), ("d/dx", np.cos)], legend=False), "tells them apart"),
])
def test_plot_fails_on_missing_wrong_or_unlabelled_curves(fig, words):
    verdict = judge(PLOT, plotted(fig), reference=CURVES)
    assert verdict.status == "failed" and words in en(verdict.message).replace("nothing tells", "tells")


def test_plot_says_when_a_figure_was_shrunk():
    big = figure([("sin", np.sin), ("d/dx", np.cos)], size=(20, 20), requested=[500, 500])
    verdict = judge(PLOT, plotted(big), reference=CURVES)
    assert verdict.status == "passed" and "inches" in en(verdict.tips[0])


# -- short answer -------------------------------------------------------------------------
def test_short_answer_is_collected_without_points():
    check = {"id": "w", "kind": "short_answer", "variable": "WHY"}
    found = judge(check, lambda call: returned(None), attributes={"WHY": {"t": "str", "v": "Because the graph grows."}})
    missing = judge(check, lambda call: returned(None))
    assert found.status == "passed" and found.details["answer"] == "Because the graph grows."
    assert missing.status == "failed" and "WHY" in en(missing.message)


def test_every_builtin_kind_has_a_test_here():
    source = open(__file__).read()
    for kind in BUILTIN_KINDS:
        assert f'"kind": "{kind}"' in source, kind
