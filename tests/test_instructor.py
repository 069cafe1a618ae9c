"""Instructor tools: validate, schema, selftest, new, check-kind plugins, hidden checks, docs/authoring.md."""

from __future__ import annotations

import json
import re
import shutil
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from pydantic import TypeAdapter, ValidationError

from conftest import DATA, ROOT, en, run_cli, zh
from grader.checks import BUILTIN_KINDS, ENTRY_POINT_GROUP, PluginError, available_kinds, load_plugin, plugin_kinds
from grader.cli import grader as grader_group
from grader.grading import GradeOptions, grade_submission
from grader.messages import tr
from grader.reporters import json_report, text
from grader.scaffold import scaffold_exercise
from grader.schema import SCHEMA_HEADER, exercise_schema, render_schema
from grader.selftest import declared_failures, run_selftest
from grader.spec.loader import SpecError, builtin_exercises_dir, exercise_model, load_exercise, load_exercises
from grader.spec.models import CallSet, InputSpec

DOC = ROOT / "docs" / "authoring.md"
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
SEED = 20261126


def doc_blocks() -> list[tuple[str, str]]:
    """(info string, body) of every fenced block of docs/authoring.md."""
    return [(m["info"].strip(), m["body"]) for m in FENCE.finditer(DOC.read_text(encoding="utf-8"))]


def doc_files() -> dict[str, str]:
    """The blocks whose info string names a file (```python file=softmax-jacobian/reference.py)."""
    return {info.split("file=", 1)[1].strip(): body for info, body in doc_blocks() if "file=" in info}


def write_tutorial(directory: Path) -> Path:
    """Build the tutorial's exercise directory from the doc's own code blocks."""
    for name, body in doc_files().items():
        if name.startswith("softmax-jacobian/"):
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
    return directory


def report(results) -> str:
    from grader.selftest import render

    return render(results, SEED)


# -- selftest ---------------------------------------------------------------------------------

def test_builtin_exercises_pass_selftest(sandbox, builtin):
    results = run_selftest(builtin, sandbox, SEED)
    assert [r.exercise for r in results] == [e.spec.id for e in builtin]
    assert all(r.ok for r in results), report(results)
    for result in results:
        roles = [f.role for f in result.files]
        assert roles[0] == "solution" and roles.count("mutant") >= 3, (result.exercise, roles)
        for file in result.files:
            if file.role == "solution":
                assert file.score == file.max_score == 10
    # every check of every built-in exercise is shown to catch something
    for exercise, result in zip(builtin, results):
        caught = {d for f in result.files for d in f.declared}
        assert caught == {c.id for c in exercise.spec.checks}, exercise.spec.id


def test_selftest_reports_every_way_a_file_can_be_wrong(tmp_path, sandbox):
    scaffold_exercise(tmp_path, "demo")
    folder = tmp_path / "demo"
    mutant = (folder / "mutants" / "by_hand.py").read_text()
    (folder / "mutants" / "by_hand.py").write_text(mutant.replace("# fails: autograd", "# fails: values"))
    (folder / "mutants" / "undeclared.py").write_text(mutant.replace("# fails: autograd\n", ""))
    (folder / "mutants" / "unknown.py").write_text(mutant.replace("# fails: autograd", "# fails: autograd, valeus"))
    (folder / "solution.py").unlink()
    (result,) = run_selftest(load_exercises(tmp_path), sandbox, SEED)
    assert not result.ok
    assert any("has no solution.py" in p for p in result.problems)
    by_name = {f.path.name: f for f in result.files}
    assert set(by_name) == {"by_hand.py", "undeclared.py", "unknown.py"}
    wrong = by_name["by_hand.py"].problems
    assert any("is declared to fail values, but it passed" in p for p in wrong), wrong
    assert any("is not declared to fail autograd, but autograd failed" in p for p in wrong), wrong
    assert "needs exactly one line `# fails:" in by_name["undeclared.py"].problems[0]
    assert "'valeus'" in by_name["unknown.py"].problems[0] and "values, autograd" in by_name["unknown.py"].problems[0]
    assert "✘ demo" in report([result])


def test_mutant_declarations_are_read_once():
    assert declared_failures("# fails: values, autograd\nimport torch\n") == ["values", "autograd"]
    assert declared_failures('"""doc"""\n#fails:plot\n') == ["plot"]
    assert declared_failures("import torch\n") is None
    assert declared_failures("# fails: a\n# fails: b\n") is None


def test_selftest_command_exit_status(tmp_path):
    scaffold_exercise(tmp_path, "good")
    scaffold_exercise(tmp_path, "bad")
    (tmp_path / "bad" / "mutants" / "by_hand.py").write_text(
        (tmp_path / "good" / "mutants" / "by_hand.py").read_text().replace("# fails: autograd", "# fails: values"))
    runner = CliRunner()
    result = runner.invoke(grader_group, ["selftest", str(tmp_path), "--seed", "5"])
    assert result.exit_code == 1, result.output
    assert "✔ good" in result.output and "✘ bad" in result.output and "--seed 5" in result.output
    result = runner.invoke(grader_group, ["selftest", str(tmp_path), "-e", "good", "--seed", "5"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(grader_group, ["selftest", str(tmp_path), "-e", "nope"])
    assert result.exit_code == 2 and "unknown exercise 'nope'" in result.output


# -- grader new -------------------------------------------------------------------------------

def test_new_exercise_passes_selftest_as_generated(tmp_path, sandbox):
    runner = CliRunner()
    result = runner.invoke(grader_group, ["new", "relu-at-zero", "--dir", str(tmp_path / "course")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "course" / "relu-at-zero"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "exercise.yaml", "mutants/by_hand.py", "reference.py", "solution.py"]
    assert (folder / "exercise.yaml").read_text().splitlines()[0] == SCHEMA_HEADER
    assert (tmp_path / "course" / "schema.json").read_text() == render_schema()
    (result,) = run_selftest(load_exercises(tmp_path / "course"), sandbox, SEED)
    assert result.ok, report([result])
    assert [f.role for f in result.files] == ["solution", "mutant"]


def test_new_refuses_what_it_cannot_do(tmp_path):
    runner = CliRunner()
    assert runner.invoke(grader_group, ["new", "demo", "--dir", str(tmp_path)]).exit_code == 0
    again = runner.invoke(grader_group, ["new", "demo", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = runner.invoke(grader_group, ["new", "Not An Id", "--dir", str(tmp_path)])
    assert bad.exit_code == 2 and "not a valid exercise id" in bad.output
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "schema.json").write_text("{}")
    kept = runner.invoke(grader_group, ["new", "demo", "--dir", str(tmp_path / "other")])
    assert kept.exit_code == 0 and (tmp_path / "other" / "schema.json").read_text() == "{}"
    assert "left alone" in kept.output


# -- grader validate --------------------------------------------------------------------------

def test_validate_reports_every_error_of_every_file_with_lines_and_exits_two(tmp_path):
    good = (builtin_exercises_dir() / "double-backward" / "exercise.yaml").read_text()
    first = tmp_path / "one"
    first.mkdir()
    broken = good.replace("rtol: 1.0e-12", "rtoll: 1.0e-12", 1).replace("origin: autograd", "origin: lib")
    (first / "exercise.yaml").write_text(broken)
    shutil.copy(builtin_exercises_dir() / "double-backward" / "reference.py", first)
    second = tmp_path / "two.yaml"
    second.write_text("id: two\ntitle: Two\nchecks:\n  - {id: x, kind: comapre}\n"
                      "  - {id: y, kind: raises, calls: c, exception: E, points: -1}\n")
    result = run_cli("grader", "validate", str(first), str(second))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    line_of = {text.strip(): i + 1 for i, text in enumerate((first / "exercise.yaml").read_text().splitlines())}
    rtoll = f"exercise.yaml:{line_of['rtoll: 1.0e-12']}: checks[1].rtoll:"
    assert any(rtoll in l and "did you mean 'rtol'" in l for l in lines), lines
    assert any(f"exercise.yaml:{line_of['origin: lib']}: checks[0].origin:" in l and "'library'" in l for l in lines), lines
    assert any("two.yaml:4: checks[0]" in l and "did you mean 'compare'" in l for l in lines), lines
    assert any("two.yaml:5: checks[1].points" in l for l in lines), lines
    assert lines[-1].endswith("problem(s) found.")


# -- grader schema ----------------------------------------------------------------------------

def test_committed_schema_is_the_generated_one():
    committed = (builtin_exercises_dir() / "schema.json").read_text(encoding="utf-8")
    assert committed == render_schema(BUILTIN_KINDS), \
        "exercises/schema.json is stale: run `grader schema --builtin-only -o exercises/schema.json`"


def test_schema_command_prints_the_schema(tmp_path):
    result = CliRunner().invoke(grader_group, ["schema", "--builtin-only"])
    assert result.exit_code == 0 and json.loads(result.output) == exercise_schema(BUILTIN_KINDS)
    out = tmp_path / "schema.json"
    assert CliRunner().invoke(grader_group, ["schema", "--builtin-only", "-o", str(out)]).exit_code == 0
    assert out.read_text() == render_schema(BUILTIN_KINDS)


def test_schema_describes_every_field_and_checks_the_builtin_specs():
    schema = exercise_schema(BUILTIN_KINDS)
    jsonschema.Draft202012Validator.check_schema(schema)
    models = [schema, *schema["$defs"].values(), *schema["$defs"]["Localized"]["anyOf"][1:]]
    for model in models:
        for name, field in model.get("properties", {}).items():
            assert field.get("description"), f"{model.get('title')}.{name} has no description"
    assert "Relative tolerance" in schema["$defs"]["CompareCheck"]["properties"]["rtol"]["description"]
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(builtin_exercises_dir().glob("*/exercise.yaml")):
        assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_HEADER
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))]
        assert errors == [], (path, errors)
    broken = yaml.safe_load((builtin_exercises_dir() / "double-backward" / "exercise.yaml").read_text())
    broken["checks"][1]["rtoll"] = broken["checks"][1].pop("rtol")
    assert list(validator.iter_errors(broken)), "the schema must reject unknown fields"
    broken["checks"][1] = {**broken["checks"][1], "kind": "comapre"}
    assert list(validator.iter_errors(broken))


# -- check-kind plugins -----------------------------------------------------------------------

FINITE_SPEC = """\
id: finite
title: Finite softmax
functions:
  soft: {signature: (z), summary: softmax of z}
inputs:
  z: {kind: tensor, shape: [4], low: 750.0, high: 800.0}
calls:
  large: {function: soft, args: [z]}
checks:
  - {id: finite, kind: all_finite, calls: large, points: 1}
"""
NAIVE = "import torch\n\ndef soft(z):\n    return torch.exp(z) / torch.exp(z).sum()\n"
STABLE = "import torch\n\ndef soft(z):\n    return torch.softmax(z, dim=0)\n"


@pytest.fixture
def demo_plugin(monkeypatch):
    """The plugin of tests/data/plugin, installed for this test only (as a path entry with a dist-info)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # never write into tests/data
    monkeypatch.syspath_prepend(str(DATA / "plugin"))
    plugin_kinds.cache_clear()
    yield
    plugin_kinds.cache_clear()


def test_a_plugin_kind_validates_and_grades(demo_plugin, tmp_path, sandbox):
    assert "all_finite" in available_kinds() and set(BUILTIN_KINDS) < set(available_kinds())
    (tmp_path / "finite.yaml").write_text(FINITE_SPEC)
    (loaded,) = load_exercises(tmp_path)
    (tmp_path / "naive.py").write_text(NAIVE)
    (tmp_path / "stable.py").write_text(STABLE)
    options = GradeOptions(seed=SEED)
    naive = grade_submission(tmp_path / "naive.py", [loaded], sandbox, options).scorecard.exercises[0].checks[0]
    stable = grade_submission(tmp_path / "stable.py", [loaded], sandbox, options).scorecard.exercises[0].checks[0]
    assert (naive.status, stable.status) == ("failed", "passed")
    assert "NaN or infinite" in en(naive.message) and "NaN 或无穷大" in zh(naive.message)  # the plugin's own words
    assert naive.message.key == "all_finite.not_finite"
    assert "AllFiniteCheck" in exercise_schema()["$defs"]
    (tmp_path / "finite.yaml").write_text(FINITE_SPEC.replace("calls: large, points", "calls: large, rtol: 1, points"))
    with pytest.raises(SpecError) as caught:
        load_exercise(tmp_path / "finite.yaml")
    assert caught.value.issues[0].path == "checks[0].rtol" and "valid fields: calls" in caught.value.issues[0].message


def test_without_the_plugin_its_kind_is_unknown(tmp_path):
    (tmp_path / "finite.yaml").write_text(FINITE_SPEC)
    with pytest.raises(SpecError) as caught:
        load_exercises(tmp_path)
    assert "unknown kind 'all_finite'" in caught.value.issues[0].message


def test_broken_plugins_are_named(demo_plugin):
    def entry(name: str, value: str) -> EntryPoint:
        return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)

    assert load_plugin(entry("all_finite", "grader_plugin_demo:KIND")).model.__name__ == "AllFiniteCheck"
    with pytest.raises(PluginError, match=r"'finite'.*must be Literal\['finite'\].*Literal\['all_finite'\]"):
        load_plugin(entry("finite", "grader_plugin_demo:KIND"))
    with pytest.raises(PluginError, match="'all_finite'.*is a dict, not a grader.checks.base.CheckKind"):
        load_plugin(entry("all_finite", "grader_plugin_demo:MESSAGES"))
    with pytest.raises(PluginError, match="'gone'.*could not be loaded: ModuleNotFoundError"):
        load_plugin(entry("gone", "no_such_plugin_module:KIND"))
    with pytest.raises(PluginError, match="built-in kind"):
        load_plugin(entry("compare", "grader.checks.compare:KIND"))


def test_plugin_through_the_command_line(tmp_path):
    exercises = tmp_path / "course"
    exercises.mkdir()
    (exercises / "finite.yaml").write_text(FINITE_SPEC)
    (tmp_path / "naive.py").write_text(NAIVE)
    env = {"PYTHONPATH": str(DATA / "plugin"), "PYTHONDONTWRITEBYTECODE": "1"}
    graded = run_cli("--exercises", str(exercises), str(tmp_path / "naive.py"), "--format", "json", "--seed", "1", env=env)
    assert graded.returncode == 1, graded.stderr
    check = json.loads(graded.stdout)["exercises"][0]["checks"][0]
    assert (check["kind"], check["status"]) == ("all_finite", "failed")
    broken = run_cli("grader", "validate", str(exercises), env={"PYTHONPATH": str(DATA / "plugin_broken")})
    assert broken.returncode == 2
    assert "Traceback" not in broken.stderr
    for named in ("'all_positive'", "grader-plugin-broken", "ModuleNotFoundError"):
        assert named in broken.stderr, broken.stderr


# -- hidden checks ----------------------------------------------------------------------------

HIDDEN_SPEC = """\
id: hidden-demo
title: Hidden demo
functions:
  double: {signature: (x), summary: returns 2 * x}
  boom: {signature: (x), summary: raises RuntimeError}
  draw: {signature: (x), summary: plots 2 * x}
inputs:
  x: {kind: tensor, shape: [3], low: 4242.0, high: 4243.0}
calls:
  twice: {function: double, args: [x]}
  fails: {function: boom, args: [x]}
  plot: {function: draw, args: [x]}
checks:
  - {id: visible, kind: autograd, calls: [twice], expect: not_used, points: 1}
  - {id: secret-values, kind: compare, calls: twice, reference: double, points: 2, visibility: hidden,
     hint: {en: "The values hint."}}
  - {id: secret-raise, kind: raises, calls: fails, exception: RuntimeError, points: 1, visibility: hidden,
     hint: {en: "The secret hint."}}
  - {id: secret-plot, kind: plot, calls: plot, curves: [{name: 2x, reference: double}], points: 1, visibility: hidden}
"""
HIDDEN_SUBMISSION = """\
import matplotlib.pyplot as plt


def double(x):
    return 2 * x + 0.5


def boom(x):
    raise ValueError(f"got {float(x[0]):.3f}")


def draw(x):
    plt.plot(x, 2 * x, label="2x")
    plt.legend()
"""


def test_hidden_checks_count_but_withhold_inputs_messages_and_expected_values(tmp_path, sandbox):
    folder = tmp_path / "hidden-demo"
    folder.mkdir()
    (folder / "exercise.yaml").write_text(HIDDEN_SPEC)
    (folder / "reference.py").write_text("def double(x):\n    return 2 * x\n")
    (loaded,) = load_exercises(tmp_path)
    submission = tmp_path / "submission.py"
    submission.write_text(HIDDEN_SUBMISSION)

    shown = grade_submission(submission, [loaded], sandbox, GradeOptions(seed=SEED, show_hidden=True))
    hidden = grade_submission(submission, [loaded], sandbox, GradeOptions(seed=SEED))
    shown_checks = {c.id: c for c in shown.scorecard.exercises[0].checks}
    hidden_checks = {c.id: c for c in hidden.scorecard.exercises[0].checks}
    # instructors see everything: the inputs (4242.x), expected values (8484.x), hints, lines, figures
    assert "4242." in en(shown_checks["secret-values"].message) and "8484." in en(shown_checks["secret-values"].message)
    assert shown_checks["secret-values"].line
    assert "4242." in en(shown_checks["secret-raise"].message) and shown_checks["secret-raise"].traceback
    assert en(shown_checks["secret-raise"].hint) == "The secret hint."
    assert ("hidden-demo", "secret-plot") in shown.attachments
    # students see that they count, and nothing else
    assert hidden.scorecard.score == shown.scorecard.score == 2 and hidden.scorecard.max_score == 5
    for check_id in ("secret-values", "secret-raise", "secret-plot"):
        check = hidden_checks[check_id]
        assert check.hidden and shown_checks[check_id].hidden
        assert check.status == shown_checks[check_id].status and check.score == shown_checks[check_id].score
        assert en(check.message) == tr("en", "hidden_check")
        assert (check.hint, check.tips, check.line, check.cell, check.details, check.traceback, check.artifacts) == \
            (None, [], None, None, {}, [], [])
    assert hidden_checks["visible"].message == shown_checks["visible"].message
    assert not any(key[1].startswith("secret") for key in hidden.attachments)
    for rendered in (json_report.render(hidden.scorecard), text.render(hidden.scorecard)):
        assert "4242." not in rendered and "8484." not in rendered and "secret hint" not in rendered
    assert json.loads(json_report.render(hidden.scorecard))["exercises"][0]["checks"][1]["hidden"] is True


def test_what_a_submission_prints_during_hidden_checks_is_withheld(tmp_path, sandbox):
    folder = tmp_path / "hidden-demo"
    folder.mkdir()
    (folder / "exercise.yaml").write_text(HIDDEN_SPEC)
    (folder / "reference.py").write_text("def double(x):\n    return 2 * x\n")
    (loaded,) = load_exercises(tmp_path)
    submission = tmp_path / "printer.py"
    submission.write_text(HIDDEN_SUBMISSION.replace("def boom(x):\n", "def boom(x):\n    print('argument', x.tolist())\n")
                          + "print('imported')\n")
    hidden = grade_submission(submission, [loaded], sandbox, GradeOptions(seed=SEED)).scorecard
    shown = grade_submission(submission, [loaded], sandbox, GradeOptions(seed=SEED, show_hidden=True)).scorecard
    assert "imported" in hidden.run.output and "4242." not in hidden.run.output
    assert hidden.run.withheld_output_bytes > 0
    assert "4242." not in text.render(hidden) and "not shown" in text.render(hidden)
    # Shown to instructors, after what the import printed and headed as such.
    assert "argument" in shown.run.hidden_output and "4242." in shown.run.hidden_output and shown.run.withheld_output_bytes == 0
    assert "imported" in shown.run.output and "argument" not in shown.run.output
    assert "  | [printed during hidden checks]\n  | argument [4242." in text.render(shown)
    assert "argument" in json.loads(json_report.render(shown))["run"]["output"]


def test_gradescope_gets_hidden_checks_in_full_without_show_hidden(tmp_path):
    folder = tmp_path / "exercises" / "hidden-demo"
    folder.mkdir(parents=True)
    (folder / "exercise.yaml").write_text(HIDDEN_SPEC)
    (folder / "reference.py").write_text("def double(x):\n    return 2 * x\n")
    submission = tmp_path / "printer.py"
    submission.write_text(HIDDEN_SUBMISSION.replace("def boom(x):\n", "def boom(x):\n    print('argument', x.tolist())\n"))
    results = tmp_path / "results.json"
    done = run_cli(str(submission), "--exercises", str(tmp_path / "exercises"), "--seed", str(SEED),
                   "--format", "json", "--gradescope", str(results))
    assert done.returncode == 1, done.stderr
    # What the student reads at once: the JSON scorecard and results.json's summary hold no hidden detail.
    card = json.loads(done.stdout)
    assert "4242." not in done.stdout and card["run"]["withheld_output_bytes"] > 0
    report = json.loads(results.read_text())
    assert "4242." not in report["output"] and "argument" not in report["output"]
    # Gradescope shows the hidden tests' real feedback once grades are published.
    secret = next(t for t in report["tests"] if t["tags"] == ["hidden-demo", "secret-values"])
    assert secret["visibility"] == "after_published" and "4242." in secret["output"]
    visible = [t for t in report["tests"] if t["visibility"] == "visible"]
    assert visible and all("4242." not in t["output"] for t in visible)


# -- docs/authoring.md ------------------------------------------------------------------------

def test_the_tutorial_exercise_passes_selftest(tmp_path, sandbox):
    directory = write_tutorial(tmp_path / "my-exercises")
    (directory / "schema.json").write_text(render_schema())
    (loaded,) = load_exercises(directory)
    assert loaded.spec.id == "softmax-jacobian"
    assert any(c.visibility == "hidden" for c in loaded.spec.checks)
    (result,) = run_selftest([loaded], sandbox, SEED)
    assert result.ok, report([result])
    assert {f.path.name: f.declared for f in result.files} == {
        "solution.py": (), "by_hand.py": ("autograd",), "naive_softmax.py": ("large-logits",)}
    # the selftest output shown in the doc is what selftest prints (but for the seed)
    shown = next(body for info, body in doc_blocks() if info == "text" and "✔ softmax-jacobian" in body)
    printed = report([result]).replace(str(directory), "my-exercises")
    assert [l for l in shown.splitlines() if "✔" in l] == [l for l in printed.splitlines() if "✔" in l]


def test_the_tutorial_validate_example_is_what_validate_says(tmp_path):
    directory = write_tutorial(tmp_path / "my-exercises")
    spec = directory / "softmax-jacobian" / "exercise.yaml"
    spec.write_text(spec.read_text().replace("rtol:", "rtoll:", 1))
    with pytest.raises(SpecError) as caught:
        load_exercises(directory)
    said = str(caught.value.issues[0]).replace(str(directory), "my-exercises")
    shown = next(body for info, body in doc_blocks() if info == "text" and "rtoll" in body).strip()
    assert said.startswith(shown.removesuffix("...").rstrip()), (said, shown)


def test_every_reference_example_is_valid():
    checks = TypeAdapter(exercise_model(BUILTIN_KINDS).model_fields["checks"].annotation)
    inputs, calls = TypeAdapter(dict[str, InputSpec]), TypeAdapter(dict[str, CallSet])
    seen_kinds, seen_inputs, seen_dists = set(), set(), set()
    for info, body in doc_blocks():
        what = info.split()[1] if info.startswith("yaml ") and len(info.split()) > 1 else None
        try:
            if what == "checks":
                seen_kinds.update(c.kind for c in checks.validate_python(yaml.safe_load(body)))
            elif what == "inputs":
                for spec in inputs.validate_python(yaml.safe_load(body)).values():
                    seen_inputs.add(spec.kind)
                    seen_dists.add(getattr(spec, "dist", None))
            elif what == "calls":
                calls.validate_python(yaml.safe_load(body))
        except ValidationError as exc:
            pytest.fail(f"docs/authoring.md example is invalid:\n{body}\n{exc}")
    assert seen_kinds == set(BUILTIN_KINDS)
    assert seen_inputs == {"tensor", "function", "graph", "value"}
    assert {"uniform", "normal", "linspace", "stratified"} <= seen_dists


def _mentions(text: str, field: str) -> bool:
    return f"`{field}`" in text or f"`{field}:" in text


def test_the_reference_names_every_field_of_every_kind():
    doc = DOC.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^#### `(\w+)`\n(.*?)(?=^#{2,4} )", doc, flags=re.MULTILINE | re.DOTALL))
    common = {"id", "kind", "points", "title", "hint", "builtin_hints", "visibility"}
    for name, kind in BUILTIN_KINDS.items():
        assert name in sections, f"docs/authoring.md has no section for `{name}`"
        missing = [f for f in kind.model.model_fields if f not in common and not _mentions(sections[name], f)]
        assert not missing, f"the `{name}` section does not mention {missing}"
    from grader.spec import models

    for name, model in {"tensor": models.TensorInput, "function": models.FunctionInput,
                        "graph": models.GraphInput, "value": models.ValueInput}.items():
        missing = [f for f in model.model_fields if f != "kind" and not _mentions(sections[name], f)]
        assert not missing, f"the `{name}` input section does not mention {missing}"
    for field in [*models.ExerciseBase.model_fields, *models.CallSet.model_fields]:
        assert _mentions(doc, field), field


def test_the_documented_plugin_is_the_tested_one():
    documented = doc_files()["grader_plugin_demo/__init__.py"]
    assert documented == (DATA / "plugin" / "grader_plugin_demo" / "__init__.py").read_text(encoding="utf-8")
    entry_points = (DATA / "plugin" / "grader_plugin_demo-0.1.0.dist-info" / "entry_points.txt").read_text()
    assert "[grader.checks]\nall_finite = grader_plugin_demo:KIND" in entry_points
    assert 'all_finite = "grader_plugin_demo:KIND"' in DOC.read_text(encoding="utf-8")
