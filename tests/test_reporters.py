"""CI reporters: snapshots of each format on hand-built scorecards, schema and sum checks, and the CLI wiring.

Snapshots live in tests/data/snapshots/. After an intended change of a format, rewrite them with
`python tests/test_reporters.py` and review the diff.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
import xmlschema
import yaml

from conftest import DATA, EXAMPLES, ROOT, run_cli
from grader.grading import GradeOptions, grade_submission
from grader.messages import tr
from grader.reporters import csv_report, github, gradescope, junit, markdown
from grader.scorecard import CheckResult, ExerciseResult, RunInfo, Scorecard

SNAPSHOTS = DATA / "snapshots"
CI_EXAMPLES = ROOT / "examples" / "ci"

# What a submission may print: NUL, terminal colours, undecodable bytes (decoded with replacement),
# a lone surrogate, a noncharacter, a forged workflow command, and text special to XML and Markdown.
NASTY_OUTPUT = (
    "step 1\x00done\n\x1b[31mred\x1b[0m text\n"
    + b"bad \xff\xfe bytes".decode("utf-8", "replace")
    + " lone \udc80 surrogate \ufffe end\n::error file=x.py,line=1::forged\n]]> & <tag> | `tick` ```fence\n"
)
ISOLATION = {"level": "namespaces", "missing": []}


def _check(id: str, status: str, score: float, max_score: float, message: str, **extra: object) -> CheckResult:
    return CheckResult(id=id, kind="compare", status=status, score=score, max_score=max_score,  # type: ignore[arg-type]
                       message=message, **extra)


def python_card() -> Scorecard:
    """A .py submission: passed, failed, error, hidden, ungraded checks, a tip, and nasty output."""
    double = ExerciseResult(id="double-backward", title="Run backward() twice", score=5.0, max_score=10.0, checks=[
        _check("second-backward-fails", "passed", 2, 2, "The second backward() failed as it should.", duration=0.01234),
        _check("retained-accumulates", "failed", 0, 3,
               "With retain_graph=True the gradient should be 8x; got 4x | see `x.grad`\n<b>bold</b> at 100%",
               title="with retain_graph, gradients accumulate", hint="Pass retain_graph=True to the first backward().",
               line=12, duration=0.5),
        _check("zeroed-resets", "error", 0, 2, "zeroed raised ValueError: bad\x00value \x1b[1m\n::warning::x\x1b[0m",
               line=20, duration=1.25),
        _check("backward-ran-twice", "passed", 3, 3, tr("en", "hidden_check"), hidden=True),
    ])
    cost = ExerciseResult(id="second-derivative-cost", title="Why is the second derivative more expensive?",
                          score=2.0, max_score=2.0, checks=[
        _check("values", "passed", 2, 2, "second_derivative matches the reference on 4 calls.",
               tips=["A loop over elements works but is slow, 2*x and 3*y: vectorize."], line=30),
        _check("explanation", "failed", 0, 0, "No explanation found: define EXPLANATION = \"...\".", graded=False),
    ])
    return Scorecard(submission="student/hw.py", score=7.0, max_score=12.0, exercises=[double, cost],
                     run=RunInfo(seed=42, isolation=ISOLATION, wall_time=2.3456, output=NASTY_OUTPUT, output_bytes=140),
                     grader_version="0.1.0")


def notebook_card() -> Scorecard:
    """A notebook: its lines are inside cells."""
    plot = ExerciseResult(id="sin-derivative-plot", title="Plot sin and its derivative", score=8.0, max_score=10.0, checks=[
        _check("values", "passed", 8, 8, "sin and its derivative are exact."),
        _check("no-cosine-in-source", "failed", 0, 2, "The source uses torch.cos at line 4 of cell 3.",
               hint="Remove cos and read the gradient instead.", line=4, cell=3),
    ])
    return Scorecard(submission="student/hw.ipynb", score=8.0, max_score=10.0, exercises=[plot],
                     run=RunInfo(seed=42, isolation=ISOLATION, wall_time=1.0), grader_version="0.1.0")


def broken_card() -> Scorecard:
    """A submission that did not run: a syntax error."""
    not_run = tr("en", "not_imported")
    double = ExerciseResult(id="double-backward", title="Run backward() twice", score=0.0, max_score=10.0, checks=[
        _check("second-backward-fails", "error", 0, 5, not_run, line=4),
        _check("retained-accumulates", "error", 0, 5, not_run, line=4),
    ])
    return Scorecard(submission="=broken.py", score=0.0, max_score=10.0, exercises=[double],
                     error="Python cannot read the file: invalid syntax (line 4).\n    return a +\n               ^",
                     error_hint="Finish the expression on line 4.", error_line=4, grader_version="0.1.0")


def batch() -> list[Scorecard]:
    """Three submissions graded together."""
    return [python_card(), notebook_card(), broken_card()]


def _classroom_json(cards: list[Scorecard]) -> str:
    decoded = base64.b64decode(github.classroom_result(cards), validate=True).decode("utf-8")
    return json.dumps(json.loads(decoded), ensure_ascii=False, indent=2) + "\n"


RENDERINGS = {
    "junit_single.xml": lambda: junit.render([python_card()]),
    "junit_batch.xml": lambda: junit.render(batch()),
    "gradescope_python.json": lambda: gradescope.render(python_card()),
    "gradescope_notebook.json": lambda: gradescope.render(notebook_card()),
    "gradescope_broken.json": lambda: gradescope.render(broken_card()),
    "markdown_single.md": lambda: markdown.render([python_card()]),
    "markdown_batch.md": lambda: markdown.render(batch()),
    "annotations.txt": lambda: "".join(github.annotations(card) for card in batch()),
    "classroom.json": lambda: _classroom_json(batch()),
    "gradebook.csv": lambda: csv_report.render(batch()),
    "gradebook_checks.csv": lambda: csv_report.render(batch(), per_check=True),
}


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_rendering_matches_its_snapshot(name):
    path = SNAPSHOTS / name
    assert path.exists(), f"no snapshot {name}: run `python tests/test_reporters.py`, then review the file"
    assert RENDERINGS[name]() == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_rendering_is_clean_text(name):
    rendered = RENDERINGS[name]()
    rendered.encode("utf-8")  # no lone surrogates
    assert "\x00" not in rendered and "\x1b" not in rendered


# -- JUnit ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def junit_schema():
    return xmlschema.XMLSchema(DATA / "junit-10.xsd")


@pytest.mark.parametrize("cards", [[python_card()], [notebook_card()], [broken_card()], batch()], ids=["py", "ipynb", "broken", "batch"])
def test_junit_validates_against_the_jenkins_schema(junit_schema, cards):
    junit_schema.validate(junit.render(cards))


def test_junit_has_a_suite_per_exercise_and_a_case_per_check():
    root = ET.fromstring(junit.render([python_card()]).encode("utf-8"))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["double-backward", "second-derivative-cost"]
    cases = suites[0].findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("double-backward", "second-backward-fails"), ("double-backward", "retained-accumulates"),
        ("double-backward", "zeroed-resets"), ("double-backward", "backward-ran-twice")]
    assert suites[0].get("failures") == "2" and root.get("tests") == "6" and root.get("failures") == "2"
    failed = cases[1].find("failure")
    assert failed.get("type") == "failed" and failed.get("message").startswith("With retain_graph=True")
    assert "student/hw.py:12" in failed.text and "Hint: Pass retain_graph=True" in failed.text
    errored = cases[2].find("failure")
    assert errored.get("type") == "error" and "bad\\x00value" in errored.get("message")
    assert cases[0].get("time") == "0.012" and cases[0].find("failure") is None
    out = suites[0].find("system-out").text
    assert "step 1\\x00done" in out and "red text" in out and "\\udc80" in out and "\\ufffe" in out
    assert "]]> & <tag>" in out  # escaped by the serializer, read back intact
    # The ungraded check is a passing case with its message, not a failure.
    explanation = suites[1].findall("testcase")[1]
    assert explanation.find("failure") is None and "No explanation found" in explanation.find("system-out").text


def test_junit_batch_names_suites_by_submission_and_keeps_the_cause_of_a_run_that_failed():
    root = ET.fromstring(junit.render(batch()).encode("utf-8"))
    names = [s.get("name") for s in root.findall("testsuite")]
    assert names == ["student/hw.py :: double-backward", "student/hw.py :: second-derivative-cost",
                     "student/hw.ipynb :: sin-derivative-plot", "=broken.py :: double-backward"]
    broken = root.findall("testsuite")[3]
    assert "invalid syntax (line 4)" in broken.find("system-err").text
    assert "invalid syntax" in broken.find("testcase/failure").text
    assert "cell 3, line 4" in root.findall("testsuite")[2].findall("testcase")[1].find("failure").text


# -- Gradescope -----------------------------------------------------------------------------------
@pytest.mark.parametrize("card", [python_card(), notebook_card(), broken_card()], ids=["py", "ipynb", "broken"])
def test_gradescope_test_scores_add_up_to_the_total(card):
    results = json.loads(gradescope.render(card))
    assert sum(t["score"] for t in results["tests"]) == pytest.approx(card.score)
    assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(card.max_score)
    assert "score" not in results  # per-test scores are the total
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed")


def test_gradescope_hides_hidden_checks_and_the_total_until_published():
    results = json.loads(gradescope.render(python_card()))
    by_name = {"/".join(t["tags"]): t for t in results["tests"]}
    assert by_name["double-backward/backward-ran-twice"]["visibility"] == "after_published"
    assert by_name["double-backward/retained-accumulates"]["visibility"] == "visible"
    assert by_name["double-backward/retained-accumulates"]["name"] == "double-backward / with retain_graph, gradients accumulate"
    assert results["stdout_visibility"] == "hidden"
    assert "7/12" not in results["output"] and "hidden" in results["output"]
    assert by_name["second-derivative-cost/explanation"]["max_score"] == 0
    notebook = json.loads(gradescope.render(notebook_card()))
    assert "8/10 points" in notebook["output"]
    assert "cell 3, line 4" in notebook["tests"][1]["output"]


# -- GitHub ---------------------------------------------------------------------------------------
def _parse_annotation(line: str) -> tuple[str, dict[str, str], str]:
    match = re.fullmatch(r"::(\w+)(?: ([^:]*))?::(.*)", line)
    assert match, line
    props = dict(p.split("=", 1) for p in match.group(2).split(",")) if match.group(2) else {}
    decode = lambda s: s.replace("%3A", ":").replace("%2C", ",").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
    return match.group(1), {k: decode(v) for k, v in props.items()}, decode(match.group(3))


def test_annotations_point_at_the_failing_line_of_the_file():
    parsed = [_parse_annotation(line) for line in github.annotations(python_card()).splitlines()]
    errors = [(props, message) for level, props, message in parsed if level == "error"]
    assert [(p["file"], p["line"]) for p, _ in errors] == [("student/hw.py", "12"), ("student/hw.py", "20")]
    assert errors[0][0]["title"] == "double-backward / with retain_graph, gradients accumulate: 0/3 points"
    assert errors[0][1].endswith("Hint: Pass retain_graph=True to the first backward().")
    levels = [level for level, _, _ in parsed]
    assert levels.count("notice") == 1 and levels.count("warning") == 1  # the tip and the ungraded check


def test_annotations_on_a_notebook_name_the_cell_not_a_file_line():
    [line] = github.annotations(notebook_card()).splitlines()
    level, props, message = _parse_annotation(line)
    assert level == "error" and props["file"] == "student/hw.ipynb" and "line" not in props
    assert message.startswith("(cell 3, line 4)")


def test_a_submission_that_did_not_run_gets_one_annotation_at_its_cause():
    [line] = github.annotations(broken_card()).splitlines()
    level, props, message = _parse_annotation(line)
    assert (level, props["file"], props["line"], props["title"]) == ("error", "=broken.py", "4", "The submission did not run")
    assert "invalid syntax" in message and "Finish the expression" in message


def test_student_text_cannot_start_a_workflow_command():
    lines = github.annotations(python_card()).splitlines()
    assert len(lines) == 4 and all(re.match(r"::(error|warning|notice) file=student/hw\.py[,:]", line) for line in lines)
    _, _, message = _parse_annotation(lines[1])
    assert message == "zeroed raised ValueError: badvalue \n::warning::x"  # one command; its newline is encoded
    fenced = github.fence(NASTY_OUTPUT, "a" * 32)
    assert fenced.startswith("::stop-commands::" + "a" * 32 + "\n") and fenced.endswith("\n::" + "a" * 32 + "::\n")
    with pytest.raises(ValueError):
        github.fence("the token abcdefghijklmnopqrstuvwxyz0123 leaked", "abcdefghijklmnopqrstuvwxyz0123")
    with pytest.raises(ValueError):
        github.fence("text", "short")


def test_annotations_of_a_real_mistake_carry_the_file_and_line(sandbox, builtin):
    example = EXAMPLES / "mistake_cosine.py"
    display = "submissions_example/mistake_cosine.py"
    card = grade_submission(example, builtin, sandbox, GradeOptions(seed=3), display).scorecard
    lines = example.read_text(encoding="utf-8").splitlines()
    def_line = next(i for i, text in enumerate(lines, 1) if text.startswith("def sin_and_grad"))
    cos_line = next(i for i, text in enumerate(lines, 1) if "torch.cos(" in text and not text.lstrip().startswith("#"))
    errors = {}
    for line in github.annotations(card).splitlines():
        level, props, message = _parse_annotation(line)
        if level == "error":
            errors[props["title"].split(":")[0]] = (props["file"], int(props["line"]))
    assert errors["sin-derivative-plot / the source does not mention cos"] == (display, cos_line)
    assert errors["sin-derivative-plot / the derivative comes from autograd"] == (display, def_line)
    junit_doc = junit.render([card])
    xmlschema.XMLSchema(DATA / "junit-10.xsd").validate(junit_doc)
    results = json.loads(gradescope.render(card))
    assert sum(t["score"] for t in results["tests"]) == pytest.approx(card.score) == 45


def test_classroom_result_decodes_to_the_documented_fields():
    cards = batch()
    payload = json.loads(base64.b64decode(github.classroom_result(cards)))
    assert set(payload) == {"version", "status", "max_score", "tests"}
    assert payload["version"] == 1 and payload["status"] == "error" and payload["max_score"] == 32
    assert sum(t["score"] for t in payload["tests"]) == pytest.approx(sum(c.score for c in cards))
    for test in payload["tests"]:
        assert set(test) == {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}
        assert test["status"] in ("pass", "fail", "error")
    failing = next(t for t in payload["tests"] if t["name"].endswith("with retain_graph, gradients accumulate (point 1 of 3)"))
    assert (failing["filename"], failing["line_no"], failing["status"]) == ("student/hw.py", 12, "fail")
    assert failing["test_code"] == "grade student/hw.py -e double-backward --seed 42"
    assert "Pass retain_graph=True" in failing["message"]
    single = json.loads(base64.b64decode(github.classroom_result([python_card()])))
    assert single["status"] == "fail" and single["tests"][0]["name"] == "double-backward / second-backward-fails (point 1 of 2)"
    assert json.loads(base64.b64decode(github.classroom_result([python_card()], fail_under=7)))["status"] == "pass"
    # Classroom's reporter reads 0 as "no line" (null prints "line null"); a notebook's lines are inside cells.
    assert {t["line_no"] for t in payload["tests"] if t["name"].startswith("student/hw.py: double-backward / second")} == {0}
    assert {t["line_no"] for t in payload["tests"] if "hw.ipynb" in t["name"]} == {0}


def _reporter_totals(payload: dict) -> tuple[float, float, float]:
    """What autograding-grading-reporter prints: its table's score (share of passing tests times max_score),
    the points it sends to Classroom (the sum of test scores), and the maximum."""
    tests = payload["tests"]
    table = sum(t["status"] == "pass" for t in tests) / len(tests) * payload["max_score"]
    return table, sum(t["score"] for t in tests), payload["max_score"]


@pytest.mark.parametrize("cards", [[python_card()], [notebook_card()], batch()], ids=["py", "ipynb", "batch"])
def test_every_total_the_classroom_reporter_prints_is_the_graders(cards):
    table, sent, most = _reporter_totals(json.loads(base64.b64decode(github.classroom_result(cards))))
    score = sum(card.score for card in cards)
    assert table == pytest.approx(score) and sent == pytest.approx(score)
    assert most == sum(card.max_score for card in cards)


def test_points_the_unit_cannot_divide_fall_back_to_a_test_per_check():
    odd = python_card().model_copy(deep=True)
    check = odd.exercises[0].checks[0].model_copy(update={"max_score": 1 / 3, "score": 1 / 3})
    exercise = odd.exercises[0].model_copy(update={"checks": [check, *odd.exercises[0].checks[1:]]})
    odd = odd.model_copy(update={"exercises": [exercise, *odd.exercises[1:]]})
    assert github.point_unit([odd]) is None
    payload = json.loads(base64.b64decode(github.classroom_result([odd])))
    assert len(payload["tests"]) == sum(c.graded for e in odd.exercises for c in e.checks)
    assert github.point_unit([python_card()]) == 1 and github.point_unit([notebook_card()]) == 2


# -- Markdown and CSV -----------------------------------------------------------------------------
def test_markdown_escapes_student_text_and_fences_output():
    assert markdown.escape("4x | see `x.grad`\n<b>[link](x)</b>") == "4x \\| see \\`x.grad\\` \\<b\\>\\[link\\](x)\\</b\\>"
    assert markdown.escape("- item") == "\\- item" and markdown.escape("3. item") == "3\\. item"
    text = markdown.render([python_card()])
    # A message of several lines is shown verbatim in a fence, where Markdown and HTML are inert.
    assert "  ```text\n  With retain_graph=True the gradient should be 8x; got 4x | see `x.grad`\n  <b>bold</b> at 100%\n  ```" in text
    fence = re.search(r"^(`{3,})text\nstep 1done", text, re.M)
    assert fence and len(fence.group(1)) > 3  # longer than the ``` the program printed
    assert "| ✘ | **double\\-backward**" not in text and "| ! | **double-backward** Run backward() twice | 5/10 | 2/4 |" in text
    assert "**Hint:** Pass retain\\_graph=True" in text


def test_csv_has_a_row_per_submission_and_defuses_formulas():
    rows = list(csv.reader(io.StringIO(csv_report.render(batch()))))
    assert rows[0] == ["submission", "score", "max_score", "double-backward", "second-derivative-cost", "sin-derivative-plot"]
    assert rows[1] == ["student/hw.py", "7", "12", "5", "2", ""]
    assert rows[3] == ["'=broken.py", "0", "10", "0", "", ""]  # a spreadsheet would run "=broken.py"
    assert csv_report.cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    checks = list(csv.reader(io.StringIO(csv_report.render(batch(), per_check=True))))
    assert "double-backward/retained-accumulates" in checks[0] and "second-derivative-cost/explanation" not in checks[0]


# -- The grade command in CI ----------------------------------------------------------------------
def test_grade_in_github_actions_fences_its_report_annotates_and_writes_every_format(tmp_path):
    summary, outputs, reports = tmp_path / "summary.md", tmp_path / "output.txt", tmp_path / "reports"
    result = run_cli("submissions_example/mistake_cosine.py", "--seed", "3", "-q",
                     "--junit-xml", str(reports / "junit.xml"), "--gradescope", str(reports / "results.json"),
                     "--markdown", str(reports / "report.md"), "--csv", str(reports / "grades.csv"),
                     env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)})
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    token = re.fullmatch(r"::stop-commands::([0-9a-f]{32})", lines[0]).group(1)
    end = lines.index(f"::{token}::")
    assert "45/50" in lines[1]
    annotations = [_parse_annotation(line) for line in lines[end + 1:] if line]
    cos_line = next(i for i, text in enumerate((EXAMPLES / "mistake_cosine.py").read_text().splitlines(), 1)
                    if "torch.cos(" in text and not text.lstrip().startswith("#"))
    assert ("error", "submissions_example/mistake_cosine.py", str(cos_line)) in {
        (level, props["file"], props.get("line")) for level, props, _ in annotations}
    xmlschema.XMLSchema(DATA / "junit-10.xsd").validate(str(reports / "junit.xml"))
    gradescope_results = json.loads((reports / "results.json").read_text(encoding="utf-8"))
    assert sum(t["score"] for t in gradescope_results["tests"]) == 45
    assert "45/50" in (reports / "report.md").read_text(encoding="utf-8") and "45/50" in summary.read_text(encoding="utf-8")
    assert (reports / "grades.csv").read_text(encoding="utf-8").splitlines()[1].startswith("submissions_example/mistake_cosine.py,45,50,")
    [output] = outputs.read_text(encoding="utf-8").splitlines()
    payload = json.loads(base64.b64decode(output.removeprefix("result=")))
    assert payload["status"] == "fail" and payload["max_score"] == 50 and sum(t["score"] for t in payload["tests"]) == 45


def test_grade_json_in_github_actions_keeps_stdout_one_document_and_annotates_on_stderr(tmp_path):
    result = run_cli("submissions_example/mistake_cosine.py", "--seed", "3", "-e", "sin-derivative-plot", "--format", "json",
                     env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": "", "GITHUB_OUTPUT": ""})
    assert result.returncode == 1
    assert json.loads(result.stdout)["score"] == 5
    assert "::stop-commands::" not in result.stdout
    assert any(line.startswith("::error file=submissions_example/mistake_cosine.py,line=") for line in result.stderr.splitlines())


def test_gradescope_results_need_exactly_one_submission(tmp_path):
    result = run_cli("submissions_example", "--gradescope", str(tmp_path / "results.json"))
    assert result.returncode == 2 and "--gradescope" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "results.json").exists()


# -- CI example files -----------------------------------------------------------------------------
def test_github_workflow_holds_what_classroom_needs():
    workflow = yaml.safe_load((CI_EXAMPLES / "github-classroom.yml").read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "repository_dispatch"} <= set(triggers)
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    [job] = workflow["jobs"].values()
    assert job["if"] == "github.actor != 'github-classroom[bot]'" and job["runs-on"]
    steps = job["steps"]
    grading = next(s for s in steps if "grade " in s.get("run", ""))
    assert "--junit-xml" in grading["run"] and grading["id"]
    reporter = next(s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-grading-reporter@"))
    assert reporter["with"]["runners"] == grading["id"]
    assert reporter["env"][f"{grading['id'].upper()}_RESULTS"] == f"${{{{ steps.{grading['id']}.outputs.result }}}}"
    installs = " ".join(s.get("run", "") for s in steps)
    assert "torch==2.13.0" in installs and "download.pytorch.org/whl/cpu" in installs


def test_gitlab_job_holds_what_gitlab_needs():
    config = yaml.safe_load((CI_EXAMPLES / "gitlab-ci.yml").read_text(encoding="utf-8"))
    jobs = {name: job for name, job in config.items() if isinstance(job, dict) and "script" in job}
    [job] = jobs.values()
    assert job["stage"] in config["stages"]
    assert any("grade " in line and "--junit-xml" in line for line in job["script"])
    assert job["artifacts"]["reports"]["junit"] and job["artifacts"]["when"] == "always"


def test_gradescope_recipe_grades_the_submission_into_results_json():
    run_autograder = (CI_EXAMPLES / "gradescope" / "run_autograder").read_text(encoding="utf-8")
    setup = (CI_EXAMPLES / "gradescope" / "setup.sh").read_text(encoding="utf-8")
    assert run_autograder.startswith("#!") and setup.startswith("#!")
    assert "/autograder/submission" in run_autograder and "--gradescope /autograder/results/results.json" in run_autograder
    assert "torch==2.13.0" in setup and "python3.11" in setup


if __name__ == "__main__":
    SNAPSHOTS.mkdir(parents=True, exist_ok=True)
    for snapshot, produce in RENDERINGS.items():
        (SNAPSHOTS / snapshot).write_text(produce(), encoding="utf-8")
        print(f"wrote {SNAPSHOTS / snapshot}")


def test_plain_removes_whole_escape_sequences_and_controls():
    from grader.reporters.plain import plain

    assert plain("\x1b[31mred\x1b[0m\x00\x07 ok\tx\n\ud800") == "red ok\tx\n?"
