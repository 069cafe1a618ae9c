"""Exercise specs: the built-in ones load; broken ones are reported whole, with lines and paths."""

from __future__ import annotations

import textwrap

import pytest

from grader.checks import BUILTIN_KINDS
from grader.spec.loader import SpecError, builtin_exercises_dir, exercise_model, load_exercise, load_exercises

GOOD = """\
id: demo
title: {en: Demo, zh: 演示}
functions:
  double: {signature: (x), summary: returns 2 * x}
inputs:
  x: {kind: tensor, shape: [3]}
calls:
  twice: {function: double, args: [x]}
checks:
  - {id: values, kind: compare, calls: twice, reference: double, points: 2}
"""


def write(tmp_path, yaml_text, reference="def double(x):\n    return 2 * x\n"):
    folder = tmp_path / "demo"
    folder.mkdir(exist_ok=True)
    (folder / "exercise.yaml").write_text(textwrap.dedent(yaml_text))
    if reference is not None:
        (folder / "reference.py").write_text(reference)
    return folder / "exercise.yaml"


def issues(path, references=None):
    with pytest.raises(SpecError) as caught:
        load_exercise(path, references=references)
    return caught.value.issues


def test_builtin_exercises_load_in_order():
    ids = [e.spec.id for e in load_exercises(builtin_exercises_dir())]
    assert ids == ["second-derivative-cost", "double-backward", "vector-control-flow", "custom-control-flow", "sin-derivative-plot"]
    for exercise in load_exercises(builtin_exercises_dir()):
        assert exercise.spec.max_score == 10


def test_a_good_spec_loads(tmp_path, sandbox):
    loaded = load_exercise(write(tmp_path, GOOD), references=sandbox.references)
    assert loaded.spec.checks[0].kind == "compare" and loaded.reference_path == tmp_path / "demo" / "reference.py"
    # Its reference code runs in the trusted worker, never in this process.
    reply = sandbox.references.call(loaded.reference_key, "double", [{"kind": "value", "value": 3}])
    assert reply == {"value": {"t": "int", "v": 6}}


def test_a_batch_of_reference_calls_answers_each_in_order_and_an_error_costs_only_its_own(tmp_path, sandbox):
    reference = "def double(x):\n    return 2 * x\n\ndef inverse(x):\n    return 1 / x\n"
    loaded = load_exercise(write(tmp_path, GOOD, reference), references=sandbox.references)
    replies = sandbox.references.call_many(loaded.reference_key, "inverse",
                                           [[{"kind": "value", "value": v}] for v in (2.0, 0.0, 4.0)])
    assert replies[0] == {"value": {"t": "float", "v": 0.5}} and replies[2] == {"value": {"t": "float", "v": 0.25}}
    assert replies[1]["error"]["type"] == "ZeroDivisionError" and replies[1]["error"]["line"] == 5
    assert sandbox.references.call_many(loaded.reference_key, "inverse", []) == []


def test_unknown_field_names_the_line_path_and_a_suggestion(tmp_path):
    found = issues(write(tmp_path, GOOD.replace("points: 2}", "points: 2, rtoll: 0.1}")))
    assert len(found) == 1
    assert (found[0].line, found[0].path) == (10, "checks[0].rtoll")
    assert "did you mean 'rtol'" in found[0].message


def test_unknown_kind_lists_the_valid_kinds(tmp_path):
    found = issues(write(tmp_path, GOOD.replace("kind: compare", "kind: comapre")))
    assert found[0].path == "checks[0].kind" or found[0].path == "checks[0]"
    assert "did you mean 'compare'" in found[0].message and "raises" in found[0].message


def test_every_error_is_reported_at_once(tmp_path):
    text = GOOD.replace("points: 2}", "points: -1, rtol: fast}").replace("shape: [3]", "shape: [3], dist: gauss")
    found = issues(write(tmp_path, text))
    paths = {i.path for i in found}
    assert {"checks[0].points", "checks[0].rtol", "inputs.x.dist"} <= paths
    dist = next(i for i in found if i.path == "inputs.x.dist")
    assert dist.line == 6 and "uniform" in dist.message  # valid choices are named


def test_dangling_names_are_errors_with_lines(tmp_path):
    text = GOOD.replace("args: [x]", "args: [y]").replace("calls: twice, reference", "calls: thrice, reference")
    found = issues(write(tmp_path, text))
    assert {(i.path, i.line) for i in found} >= {("calls.twice.args", 8), ("checks[0].calls", 10)}
    assert any("'y' is not declared under `inputs`" in i.message for i in found)


def test_missing_reference_function_is_reported(tmp_path, sandbox):
    found = issues(write(tmp_path, GOOD, reference="def triple(x):\n    return 3 * x\n"), sandbox.references)
    assert found[0].path == "checks[0].reference" and "no function 'double'" in found[0].message


def test_broken_reference_module_is_reported(tmp_path, sandbox):
    found = issues(write(tmp_path, GOOD, reference="import nothing_here\n"), sandbox.references)
    assert "ModuleNotFoundError" in found[0].message and found[0].file.name == "reference.py"


def test_yaml_syntax_error_has_a_line(tmp_path):
    found = issues(write(tmp_path, GOOD + "  - {id: broken\n"))
    assert found[0].line is not None and "not valid YAML" in found[0].message


def test_short_answers_cannot_carry_points(tmp_path):
    text = GOOD + "  - {id: why, kind: short_answer, variable: WHY, points: 1}\n"
    found = issues(write(tmp_path, text))
    assert found[0].path == "checks[1].points" and "no automatic points" in found[0].message


def test_the_union_and_the_registry_name_the_same_kinds():
    union_kinds = set()
    for model in exercise_model().model_fields["checks"].annotation.__args__[0].__args__[0].__args__:
        union_kinds.add(model.model_fields["kind"].annotation.__args__[0])
    assert union_kinds == set(BUILTIN_KINDS)
    for name, kind in BUILTIN_KINDS.items():
        assert kind.model.model_fields["kind"].annotation.__args__ == (name,)


def test_expressions_are_checked_when_the_spec_loads(tmp_path):
    text = GOOD.replace("x: {kind: tensor, shape: [3]}", "x: {kind: tensor, shape: [3]}\n  f: {kind: function, expr: 'torch.sin(x'}")
    found = issues(write(tmp_path, text))
    assert found[0].path == "inputs.f.expr" and "not a Python expression" in found[0].message


def test_dangling_names_are_reported_together_with_field_errors(tmp_path):
    text = GOOD.replace("args: [x]", "args: [y]").replace("points: 2}", "points: 2, rtol: fast}")
    found = issues(write(tmp_path, text))
    assert {(i.path, i.line) for i in found} >= {("calls.twice.args", 8), ("checks[0].rtol", 10)}
