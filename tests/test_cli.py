"""The `grade` command end to end, as users and CI scripts call it."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import EXAMPLES, ROOT, run_cli


def test_full_solution_prints_fifty_and_exits_zero():
    result = run_cli(str(EXAMPLES / "solution.py"), "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "50/50" in result.stdout.splitlines()[0]


def test_mistake_exits_one():
    result = run_cli(str(EXAMPLES / "mistake_cosine.py"), "--seed", "3")
    assert result.returncode == 1
    assert "45/50" in result.stdout.splitlines()[0]


def test_json_stdout_is_only_the_scorecard_even_when_the_submission_prints(tmp_path):
    noisy = tmp_path / "noisy.py"
    noisy.write_text('print("{\\"score\\": 50}")\nimport sys\nprint("::error::fake", file=sys.stderr)\n'
                     'def second_derivative(f, x):\n    print("computing")\n    return x\n')
    result = run_cli(str(noisy), "--format", "json", "--seed", "1")
    assert result.returncode == 1
    card = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert card["submission"] == str(noisy)
    assert card["score"] == 0
    assert {e["id"] for e in card["exercises"]} == {
        "second-derivative-cost", "double-backward", "vector-control-flow", "custom-control-flow", "sin-derivative-plot"}
    assert "computing" in card["run"]["output"]
    for exercise in card["exercises"]:
        for check in exercise["checks"]:
            assert check["status"] in ("passed", "failed", "error")
            assert set(check) >= {"id", "status", "score", "max_score", "message", "hint"}


def test_missing_file_exits_two_with_one_line(tmp_path):
    result = run_cli(str(tmp_path / "nope.py"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "nope.py" in result.stderr


def test_syntax_error_scores_zero_with_its_line(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\n\ndef f(a):\n    return a +\n")
    result = run_cli(str(broken), "--format", "json", "--seed", "1")
    assert result.returncode == 1
    card = json.loads(result.stdout)
    assert card["score"] == 0 and card["error_line"] == 4
    assert "line 4" in card["error"]


def test_unknown_exercise_is_a_usage_error():
    result = run_cli(str(EXAMPLES / "solution.py"), "-e", "no-such-exercise")
    assert result.returncode == 2
    assert "double-backward" in result.stderr  # names the valid choices


def test_selected_exercise_only(tmp_path):
    result = run_cli(str(EXAMPLES / "solution.py"), "-e", "double-backward", "--format", "json", "--seed", "2")
    assert result.returncode == 0, result.stderr
    card = json.loads(result.stdout)
    assert [e["id"] for e in card["exercises"]] == ["double-backward"] and card["max_score"] == 10


def test_batch_json_lists_every_submission(tmp_path):
    for name in ("solution.py", "mistake_cosine.py"):
        (tmp_path / name).write_text((EXAMPLES / name).read_text())
    result = run_cli(str(tmp_path), "--format", "json", "--seed", "5")
    assert result.returncode == 1
    cards = json.loads(result.stdout)["submissions"]
    assert sorted((c["submission"].rsplit("/", 1)[-1], c["score"]) for c in cards) == [("mistake_cosine.py", 45), ("solution.py", 50)]


def test_fail_under_sets_the_exit_status():
    passing = run_cli(str(EXAMPLES / "mistake_cosine.py"), "--fail-under", "40", "--seed", "1")
    failing = run_cli(str(EXAMPLES / "mistake_cosine.py"), "--fail-under", "48", "--seed", "1")
    assert (passing.returncode, failing.returncode) == (0, 1)


def test_seed_is_recorded_and_reproduces_inputs(tmp_path):
    echo = tmp_path / "echo.py"
    echo.write_text("def sin_and_grad(x):\n    print(float(x[0]))\n    return x, x\n")
    first = json.loads(run_cli(str(echo), "--format", "json", "--seed", "99", "-e", "sin-derivative-plot").stdout)
    again = json.loads(run_cli(str(echo), "--format", "json", "--seed", "99", "-e", "sin-derivative-plot").stdout)
    other = json.loads(run_cli(str(echo), "--format", "json", "--seed", "100", "-e", "sin-derivative-plot").stdout)
    assert first["run"]["seed"] == 99
    assert first["run"]["output"] == again["run"]["output"] != other["run"]["output"]


def test_help_does_not_import_torch():
    code = ("import sys\nfrom grader.cli import grade\n"
            "try:\n    grade.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules, 'grade --help imported torch'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "--exercises" in result.stdout


def test_invalid_spec_directory_exits_two(tmp_path):
    (tmp_path / "bad.yaml").write_text("id: bad\ntitle: Bad\nchecks:\n  - {id: x, kind: nope}\n")
    result = run_cli(str(EXAMPLES / "solution.py"), "--exercises", str(tmp_path))
    assert result.returncode == 2
    assert "bad.yaml:4" in result.stderr and "unknown kind 'nope'" in result.stderr


def test_a_submission_cannot_read_another_submission_of_the_batch(tmp_path):
    first, second = tmp_path / "alice", tmp_path / "bob"
    first.mkdir()
    second.mkdir()
    secret = second / "bob.py"
    secret.write_text("SECRET = 'bob-answer-42'\n")
    (first / "alice.py").write_text(
        f"try:\n    print(open({str(secret)!r}).read())\nexcept OSError as error:\n    print('blocked', type(error).__name__)\n")
    result = run_cli(str(first / "alice.py"), str(secret), "--format", "json", "--seed", "1", "-e", "double-backward")
    cards = json.loads(result.stdout)["submissions"]
    alice = next(c for c in cards if c["submission"].endswith("alice.py"))
    assert "bob-answer-42" not in alice["run"]["output"] and "blocked" in alice["run"]["output"]
