"""Instructors, second round, on the spec side: what `validate` finds, and where it says the mistake is.

Every finding of issue 13 that a spec can show has a test here: names that do not exist (ops,
functions, expression names), errors at the line of the field at fault with did-you-mean, YAML's
own errors in plain words, the limits of fields, special values mixed into draws.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from grader.inputs import draw_tensor, included_positions, probe_arguments
from grader.spec.loader import SpecError, load_exercise
from grader.spec.models import TensorInput, unknown_names
from grader.wire import decode_array, encode_array

BASE = """\
id: demo
title: {en: Demo, zh: 演示}
functions:
  double: {signature: (x), summary: returns 2 * x}
inputs:
  x: {kind: tensor, shape: [3]}
calls:
  twice: {function: double, args: [x]}
checks:
  - id: values
    kind: compare
    calls: twice
    reference: double
    points: 2
"""
REFERENCE = "def double(x):\n    return 2 * x\n"


def write(tmp_path, text, reference=REFERENCE):
    folder = tmp_path / "demo"
    folder.mkdir(exist_ok=True)
    (folder / "exercise.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    if reference is not None:
        (folder / "reference.py").write_text(reference, encoding="utf-8")
    return folder / "exercise.yaml"


def problems(path, references=None):
    with pytest.raises(SpecError) as caught:
        load_exercise(path, references=references)
    return caught.value.issues


def line_of(path, text):
    """The 1-based line of the first line of the file that contains `text`."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


# -- 2. nothing passes by accident: every name resolves ------------------------------------

def test_forbid_ops_naming_ops_that_do_not_exist_is_an_error_at_their_line(tmp_path, sandbox):
    path = write(tmp_path, BASE + """\
  - id: no-cos
    kind: forbid_ops
    calls: [twice]
    ops:
      - torch.cos
      - torch.nonexistent_function
      - foo.bar
      - torch.sigmod
      - torch.manual_seed
      - numpy.ndarray.sum
""")
    found = {i.path: i for i in problems(path, sandbox.references)}
    assert set(found) == {"checks[1].ops[1]", "checks[1].ops[2]", "checks[1].ops[3]", "checks[1].ops[4]", "checks[1].ops[5]"}
    assert found["checks[1].ops[1]"].line == line_of(path, "torch.nonexistent_function")
    assert "torch has no attribute 'nonexistent_function'" in found["checks[1].ops[1]"].message
    assert found["checks[1].ops[2]"].line == line_of(path, "foo.bar") and "no module 'foo'" in found["checks[1].ops[2]"].message
    assert "did you mean 'torch.sigmoid'" in found["checks[1].ops[3]"].message
    # It exists, but the child could never see it called: forbidding it would always pass.
    assert "cannot be observed" in found["checks[1].ops[4]"].message and "forbid_source" in found["checks[1].ops[4]"].message
    assert "not a function of a module" in found["checks[1].ops[5]"].message


def test_autograd_and_torch_func_entry_points_resolve(tmp_path, sandbox):
    ops = ["torch.autograd.grad", "torch.autograd.backward", "torch.autograd.functional.jacobian",
           "torch.autograd.forward_ad.make_dual", "torch.func.jvp", "torch.func.grad", "torch.Tensor.backward",
           "torch.nn.functional.relu", "math.cos", "numpy.cos"]
    path = write(tmp_path, BASE + f"  - {{id: no-ad, kind: forbid_ops, calls: [twice], ops: [{', '.join(ops)}]}}\n")
    assert load_exercise(path, references=sandbox.references).spec.checks[1].ops == ops


def test_forbid_source_naming_an_undeclared_function_is_an_error_with_a_suggestion(tmp_path):
    path = write(tmp_path, BASE + """\
  - id: no-cos
    kind: forbid_source
    names: [cos]
    functions:
      - double
      - dubble
""")
    (issue,) = problems(path)
    assert (issue.path, issue.line) == ("checks[1].functions[1]", line_of(path, "- dubble"))
    assert "'dubble' is not declared under `functions`" in issue.message and "did you mean 'double'" in issue.message


def test_an_expression_with_an_undefined_name_is_an_error_at_its_line(tmp_path):
    path = write(tmp_path, BASE.replace("  x: {kind: tensor, shape: [3]}\n", """\
  x: {kind: tensor, shape: [3]}
  f:
    kind: function
    expr: torhc.sin(x) + np.cos(x)
"""))
    (issue,) = problems(path)
    assert (issue.path, issue.line) == ("inputs.f.expr", line_of(path, "expr: torhc"))
    assert "unknown names 'np', 'torhc' (did you mean 'torch'?)" in issue.message and "x, torch, math" in issue.message
    # Names an expression binds itself, and builtins, are known.
    assert unknown_names("sum(v * x for v in range(3)) + (lambda t: abs(t))(x)") == []


def test_an_expression_that_raises_on_sample_inputs_is_an_error_at_its_line(tmp_path, sandbox):
    path = write(tmp_path, BASE.replace("  x: {kind: tensor, shape: [3]}\n", """\
  x: {kind: tensor, shape: [3]}
  f: {kind: function, expr: torch.sinn(x)}
  g: {kind: graph, leaf: x, expr: "x @ torch.ones(4)"}
  ok: {kind: graph, leaf: x, expr: "torch.where(x > 0, x, -x)"}
"""))
    found = {i.path: i for i in problems(path, sandbox.references)}
    assert set(found) == {"inputs.f.expr", "inputs.g.expr"}
    assert found["inputs.f.expr"].line == line_of(path, "torch.sinn") and "AttributeError" in found["inputs.f.expr"].message
    assert "(did you mean 'sin'?)" in found["inputs.f.expr"].message
    assert found["inputs.g.expr"].line == line_of(path, "x @ torch") and "RuntimeError" in found["inputs.g.expr"].message


def test_an_expression_that_fails_on_some_draws_only_is_found_too(tmp_path, sandbox):
    # Fine whenever x[0] > 0, about half the draws: one draw would let it through half the time.
    path = write(tmp_path, BASE.replace("  x: {kind: tensor, shape: [3]}\n", """\
  x: {kind: tensor, shape: [3]}
  g: {kind: graph, leaf: x, expr: "x if x[0] > 0 else x @ torch.ones(7, dtype=x.dtype)"}
"""))
    (issue,) = problems(path, sandbox.references)
    assert issue.path == "inputs.g.expr" and "RuntimeError" in issue.message


def test_a_function_input_is_tried_on_the_tensors_it_is_passed_with(tmp_path, sandbox):
    # Fine on a vector of 3, wrong on the [2, 2] matrix the calls pass beside it.
    text = BASE.replace("  x: {kind: tensor, shape: [3]}\n", """\
  x: {kind: tensor, shape: [3]}
  m: {kind: tensor, shape: [2, 2]}
  f: {kind: function, expr: "x * torch.tensor([1.0, 2.0, 3.0], dtype=x.dtype)"}
""").replace("  twice: {function: double, args: [x]}\n", "  twice: {function: double, args: [x]}\n  apply: {function: double, args: [f, m]}\n")
    (issue,) = problems(write(tmp_path, text), sandbox.references)
    assert issue.path == "inputs.f.expr" and "RuntimeError" in issue.message


# -- 7. errors where the mistake is --------------------------------------------------------

def test_a_bad_kind_is_reported_at_the_kind_field_with_a_suggestion(tmp_path):
    path = write(tmp_path, BASE.replace("    kind: compare\n", "    kind: comapre\n"))
    (issue,) = problems(path)
    assert (issue.path, issue.line) == ("checks[0].kind", line_of(path, "kind: comapre"))
    assert "did you mean 'compare'" in issue.message
    bad_input = problems(write(tmp_path, BASE.replace("x: {kind: tensor,", "x: {kind: tenser,")))
    assert [i.path for i in bad_input] == ["inputs.x.kind"] and "did you mean 'tensor'" in bad_input[0].message


def test_a_dangling_reference_function_is_reported_at_its_field_with_a_suggestion(tmp_path, sandbox):
    path = write(tmp_path, BASE.replace("    reference: double\n", "    reference: doubel\n"))
    (issue,) = problems(path, sandbox.references)
    assert (issue.path, issue.line) == ("checks[0].reference", line_of(path, "reference: doubel"))
    assert "did you mean 'double'" in issue.message and "defines: double" in issue.message


def test_a_missing_reference_file_suggests_the_one_beside_it(tmp_path):
    path = write(tmp_path, BASE.replace("functions:", "reference: referense.py\nfunctions:", 1))
    (issue,) = problems(path)
    assert issue.path == "reference" and issue.line == line_of(path, "referense.py")
    assert "did you mean 'reference.py'" in issue.message


def test_every_dangling_name_gets_a_suggestion(tmp_path):
    text = (BASE.replace("{function: double, args: [x]}", "{function: doubel, args: [xx]}")
            .replace("    calls: twice\n", "    calls: twise\n")
            .replace("  x: {kind: tensor, shape: [3]}\n", "  x: {kind: tensor, shape: [3]}\n  gx: {kind: graph, leaf: xs, expr: x}\n"))
    found = {i.path: i.message for i in problems(write(tmp_path, text))}
    assert "did you mean 'double'" in found["calls.twice.function"]
    assert "did you mean 'x'" in found["calls.twice.args"]
    assert "did you mean 'twice'" in found["checks[0].calls"]
    assert "did you mean 'x'" in found["inputs.gx.leaf"]


def test_a_dedented_key_is_explained_in_plain_words_at_its_line(tmp_path):
    path = write(tmp_path, BASE.replace("    points: 2\n", "   points: 2\n"))
    (issue,) = problems(path)
    assert issue.line == line_of(path, "   points: 2")
    assert "indented differently" in issue.message and "line up" in issue.message
    assert "<block" not in issue.message  # none of YAML's own jargon


@pytest.mark.parametrize("text, words", [
    ("id: demo\ntitle: a: b\n", "must be quoted"),
    ("id: demo\ntitle: T\nchecks:\n\t- id: x\n", "tab"),
    ("id: demo\ntitle: 'open\n", "never closed"),
    ("id: demo\nchecks\n  - x\n", "a `:` is missing"),
])
def test_other_yaml_errors_are_explained_too(tmp_path, text, words):
    (issue,) = problems(write(tmp_path, text))
    assert issue.line is not None and words in issue.message and issue.message.startswith("not valid YAML: ")


def test_a_key_written_twice_is_an_error(tmp_path):
    path = write(tmp_path, BASE.replace("    points: 2\n", "    points: 2\n    points: 3\n"))
    (issue,) = problems(path)
    assert (issue.path, issue.line) == ("checks[0].points", line_of(path, "points: 3")) and "twice" in issue.message


def test_a_signature_cut_at_its_comma_says_to_quote_it(tmp_path):
    path = write(tmp_path, BASE.replace("double: {signature: (x), summary: returns 2 * x}",
                                        "double: {signature: (f, x), summary: returns 2 * x}"))
    messages = [i.message for i in problems(path)]
    assert any("cut at its comma" in m and 'signature: "(f, x)"' in m for m in messages), messages


# -- 1, 6. the autograd check's fields and their limits -----------------------------------------

@pytest.mark.parametrize("fields, path, words", [
    ("mode: forward, create_graph: true", "checks[1].create_graph", "reverse mode"),
    ("expect: not_used, min_runs: 2", "checks[1].min_runs", "only to `expect: used`"),
    ("min_runs: 3, loop_tip_above: 2", "checks[1].loop_tip_above", "at least min_runs"),
    ("loop_tip_above: 1", "checks[1].loop_tip_above", "must be at least 2; found 1"),
    ("mode: sideways", "checks[1].mode", "'forward'"),
])
def test_autograd_fields_that_cannot_hold_are_errors(tmp_path, fields, path, words):
    (issue,) = problems(write(tmp_path, BASE + f"  - {{id: ad, kind: autograd, calls: [twice], {fields}}}\n"))
    assert issue.path == path and words in issue.message


def test_builtin_hints_is_a_field_of_every_kind(tmp_path):
    loaded = load_exercise(write(tmp_path, BASE.replace("    points: 2\n", "    points: 2\n    builtin_hints: false\n")))
    assert loaded.spec.checks[0].builtin_hints is False


# -- 4. special values ----------------------------------------------------------------------

def test_include_mixes_exact_values_into_random_draws_deterministically():
    spec = TensorInput(kind="tensor", shape=[40], low=-2.0, high=2.0, include=[0.0, -0.0], include_share=0.25)
    draw = lambda seed, sample=0: draw_tensor(spec, seed=seed, exercise="e", name="x", sample=sample, samples=1)  # noqa: E731
    first = draw(7)
    assert np.array_equal(first, draw(7)) and not np.array_equal(first, draw(8))
    zeros = first[first == 0.0]
    assert len(zeros) == 10  # a quarter of 40
    assert sorted(np.signbit(zeros)) == [False] * 5 + [True] * 5  # -0.0 keeps its sign
    plain = TensorInput(kind="tensor", shape=[40], low=-2.0, high=2.0)
    others = draw_tensor(plain, seed=7, exercise="e", name="x", sample=0, samples=1)
    assert np.array_equal(first[first != 0.0], others[first != 0.0])  # the other entries are the usual draws
    # The child receives exactly these values, sign of zero included, in the input's dtype.
    wire = encode_array(first, "float32")
    assert np.array_equal(np.signbit(decode_array(wire)), np.signbit(first.astype(np.float32)))


def test_include_on_a_0d_input_is_a_share_of_the_samples():
    spec = TensorInput(kind="tensor", shape=[], low=-1.0, high=1.0, include=[0.5], include_share=0.25)
    draws = [float(draw_tensor(spec, seed=3, exercise="e", name="x", sample=i, samples=16)) for i in range(16)]
    assert draws.count(0.5) == 4
    assert included_positions(spec, seed=3, exercise="e", name="x", samples=16) == {
        i: 0.5 for i, value in enumerate(draws) if value == 0.5}
    once = TensorInput(kind="tensor", shape=[5], include=[0.0, 1.0, -1.0])
    assert sorted(draw_tensor(once, seed=1, exercise="e", name="x", sample=0, samples=1))[:1] == [-1.0]


@pytest.mark.parametrize("fields, words", [
    ("include_share: 0.5", "give `include` too"),
    ("include: [0.0], dist: linspace", "linspace is not random"),
    ("include: [0.0], include_share: 1.5", "must be at most 1; found 1.5"),
    ("include: []", "must have at least 1 item; found 0"),
])
def test_include_limits(tmp_path, fields, words):
    (issue,) = problems(write(tmp_path, BASE.replace("x: {kind: tensor, shape: [3]}", f"x: {{kind: tensor, shape: [3], {fields}}}")))
    assert issue.path.startswith("inputs.x") and words in issue.message


def test_probes_are_deterministic_and_close():
    wire = {"kind": "tensor", "array": encode_array(np.array([0.5, -2.0, 3.0]), "float64"), "requires_grad": False}
    plus, minus = probe_arguments((wire,), seed=5, exercise="e", call_set="c", case=0, sample=1)
    again = probe_arguments((wire,), seed=5, exercise="e", call_set="c", case=0, sample=1)
    assert (plus, minus) == again
    x, up, down = (decode_array(a["array"]) for a in (wire, plus[0], minus[0]))
    assert np.allclose(up - x, x - down) and 0 < np.abs(up - x).max() < 1e-4
    half = {"kind": "tensor", "array": encode_array(np.array([0.5]), "float16"), "requires_grad": False}
    assert probe_arguments((half,), seed=5, exercise="e", call_set="c", case=0, sample=0) is None


# -- every problem at once, in plain words ---------------------------------------------------

def test_what_the_trusted_worker_finds_is_reported_beside_field_errors(tmp_path, sandbox):
    # A field error elsewhere does not hide a dangling op, reference function or failing expression.
    path = write(tmp_path, BASE.replace("  x: {kind: tensor, shape: [3]}\n", """\
  x: {kind: tensor, shape: [3]}
  g: {kind: graph, leaf: x, expr: "x @ torch.ones(4)"}
""").replace("    reference: double\n", "    reference: doubel\n").replace("args: [x]}", "args: [x], sampels: 2}") + """\
  - {id: no-cos, kind: forbid_ops, calls: [twice], ops: [torch.sigmod]}
""")
    found = {i.path: i for i in problems(path, sandbox.references)}
    assert set(found) == {"calls.twice.sampels", "checks[0].reference", "checks[1].ops[0]", "inputs.g.expr"}
    assert "did you mean 'double'" in found["checks[0].reference"].message
    assert "did you mean 'torch.sigmoid'" in found["checks[1].ops[0]"].message
    assert found["inputs.g.expr"].line == line_of(path, "x @ torch") and "RuntimeError" in found["inputs.g.expr"].message


@pytest.mark.parametrize("old, new, path, words", [
    ("checks:\n  - id: values\n", "checks:\n  - values\n  - id: values\n", "checks[0]",
     "must be a mapping of `key: value` fields (- id: ..., kind: ...); found the text 'values'"),
    ("inputs:\n  x: {kind: tensor, shape: [3]}\n", "inputs: [x]\n", "inputs", "must be a mapping of `key: value` fields; found a list"),
    ("title: {en: Demo, zh: 演示}", "title: [Demo]", "title", "must be a text, or a mapping {en: ..., zh: ...}"),
    ("id: demo", "id: 5", "id", "must be a text; found the number 5"),
    ("    points: 2\n", "    points: 2\n  - {id: ad, kind: autograd, calls: twice}\n", "checks[1].calls",
     "must be a list, [a, b] or one `- ` item per line; found the text 'twice' (one item is written [twice])"),
    ("    points: 2\n", "    points: 2\n  - {id: ad, kind: autograd, calls: [twice], mode: fwd}\n", "checks[1].mode",
     "'fwd' is not one of 'any', 'reverse', 'forward' (did you mean 'forward'?)"),
])
def test_type_errors_are_said_in_yamls_words(tmp_path, old, new, path, words):
    issues = problems(write(tmp_path, BASE.replace(old, new)))
    assert path in {i.path for i in issues}, issues
    message = next(i.message for i in issues if i.path == path)
    assert words in message and "Input should" not in message


def test_numpy_in_an_expression_says_to_use_torch(tmp_path):
    (issue,) = problems(write(tmp_path, BASE.replace("  x: {kind: tensor, shape: [3]}\n",
                                                     "  x: {kind: tensor, shape: [3]}\n  f: {kind: function, expr: np.sin(x)}\n")))
    assert issue.path == "inputs.f.expr" and "numpy is not among them: torch has the same functions" in issue.message


def test_inputs_too_large_to_send_are_spec_errors(tmp_path):
    # Found when the spec loads, not blamed on the student as "interfered with the grader's channel".
    (issue,) = problems(write(tmp_path, BASE.replace("shape: [3]}", "shape: [1001, 1000]}")))
    assert issue.path == "inputs.x.shape" and "1,001,000 entries; an input has at most 1,000,000" in issue.message
    text = BASE.replace("shape: [3]}", "shape: [1000, 800]}\n  g: {kind: graph, leaf: x, expr: 2 * x}").replace(
        "  twice: {function: double, args: [x]}\n", "  twice: {function: double, cases: [[x], [x, g, x]]}\n")
    (issue,) = problems(write(tmp_path, text))
    assert issue.path == "calls.twice.cases[1]" and "2,400,000 entries together" in issue.message
    load_exercise(write(tmp_path, text.replace("[x, g, x]", "[x, g]")))  # 1.6 million is fine


@pytest.mark.parametrize("fields, field", [
    ("low: 2.0\n    high: 1.0", "low"), ("include_share: 0.5", "include_share"), ("dist: linspace\n    include: [0.0]", "include")])
def test_a_rule_across_fields_is_reported_at_the_field_at_fault(tmp_path, fields, field):
    path = write(tmp_path, BASE.replace("  x: {kind: tensor, shape: [3]}\n", f"  x:\n    kind: tensor\n    shape: [3]\n    {fields}\n"))
    (issue,) = problems(path)
    assert (issue.path, issue.line) == (f"inputs.x.{field}", line_of(path, f"    {field}:"))


@pytest.mark.parametrize("text, words", [
    ("!!python/object/apply:os.system ['echo hi']\n", "a YAML tag (a value that starts with `!`) that specs do not use"),
    ("a: " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply"),
])
def test_yaml_a_spec_cannot_hold_is_explained(tmp_path, text, words):
    (issue,) = problems(write(tmp_path, text))
    assert issue.message.startswith("not valid YAML: ") and words in issue.message


def test_limits_are_said_with_the_value_found(tmp_path):
    text = BASE.replace("{function: double, args: [x]}", "{function: double, args: [x], samples: 0, repeat: 11}").replace(
        "x: {kind: tensor, shape: [3]}", "x: {kind: tensor, shape: [3], dist: normal, std: 0}")
    found = {i.path: i.message for i in problems(write(tmp_path, text))}
    assert found == {"calls.twice.samples": "must be at least 1; found 0", "calls.twice.repeat": "must be at most 10; found 11",
                     "inputs.x.std": "must be more than 0; found 0"}
    (issue,) = problems(write(tmp_path, BASE.replace("title: {en: Demo, zh: 演示}", "title: !!binary aGVsbG8=")))
    assert issue.path == "title" and "found a YAML bytes value" in issue.message


def test_module_level_names_a_spec_reads_must_be_declared(tmp_path):
    # Undeclared, a starter file never tells students the name, and a misspelt domain is silently ignored.
    text = BASE.replace("x: {kind: tensor, shape: [3]}", "x: {kind: tensor, shape: [3], domain_from: X_DOMAN}").replace(
        "functions:", "variables:\n  X_DOMAIN: {summary: the range of x, example: '(-1.0, 1.0)'}\nfunctions:") + \
        "  - {id: why, kind: short_answer, variable: WHY}\n"
    found = {i.path: i for i in problems(write(tmp_path, text))}
    assert set(found) == {"inputs.x.domain_from", "checks[1].variable"}
    assert "'X_DOMAN' is not declared under `variables` (did you mean 'X_DOMAIN'?)" in found["inputs.x.domain_from"].message
    assert "'WHY' is not declared under `variables`" in found["checks[1].variable"].message
    assert found["checks[1].variable"].line == line_of(write(tmp_path, text), "variable: WHY")
    fixed = text.replace("X_DOMAN", "X_DOMAIN").replace("functions:", "  WHY: {summary: why it holds}\nfunctions:", 1)
    assert load_exercise(write(tmp_path, fixed)).spec.checks[1].variable == "WHY"


@pytest.mark.parametrize("name, ok", [("RunTimeError", False), ("TypError", False), ("RuntimeError", True),
                                      ("OutOfMemoryError", True), ("LinAlgError", True), ("MyOwnError", True)])
def test_a_misspelt_exception_class_is_an_error(tmp_path, name, ok):
    # No call could raise RunTimeError: the check could never pass. A library's or the student's own class may.
    text = BASE + f"  - {{id: raises, kind: raises, calls: twice, exception: {name}}}\n"
    if ok:
        assert load_exercise(write(tmp_path, text)).spec.checks[1].exception == name
    else:
        (issue,) = problems(write(tmp_path, text))
        assert issue.path == "checks[1].exception" and "is not an exception class Python defines (did you mean" in issue.message
