"""A service grading several exercise sets at once (`grader serve --exercises DIR`, repeatable), driven over HTTP.

A real `grader serve` on 127.0.0.1 and a free port serves the built-in set and a course's set (a
directory with one small exercise); each submission is graded against the set it names, with the
scores `grade --exercises DIR` gives for the same seed, and restart recovery keeps its set.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, run_cli
from service_support.course import RIGHT, WRONG, write_course
from service_support.server import Server, token
from test_service import SLOW, assert_problem, comparable, differences, result, submit

BUILTIN_IDS = ["second-derivative-cost", "double-backward", "vector-control-flow", "custom-control-flow",
               "sin-derivative-plot"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course's set: a directory named `course` holding the exercise `double-it`."""
    return write_course(tmp_path_factory.mktemp("sets"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, course):
    """A service of two sets: `course` (the default: the first --exercises DIR) and `builtin`."""
    instance = Server(tmp_path_factory.mktemp("service-sets"), "--jobs", "2", "--rate", "0",
                      "--exercises", str(course)).start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def client(server):
    """An HTTP client of the module's server."""
    with server.client() as http:
        yield http


def graded_by_cli(tmp_path: Path, name: str, source: str, seed: int, *options: str) -> dict:
    """The scorecard `grade --format json` gives for this file and seed (with `--exercises DIR` in `options`)."""
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    graded = run_cli(str(path), "--seed", str(seed), "--format", "json", "--lang", "en", *options)
    assert graded.returncode in (0, 1), graded.stderr
    return json.loads(graded.stdout)


def test_each_submission_is_graded_against_its_set_as_grade_does(tmp_path, client, course):
    seed = 515
    expected_course = graded_by_cli(tmp_path, "wrong.py", WRONG, seed, "--exercises", str(course))
    mistake = (EXAMPLES / "mistake_cosine.py").read_text(encoding="utf-8")
    expected_builtin = graded_by_cli(tmp_path, "mistake_cosine.py", mistake, seed)
    # JSON names the course's set; a multipart upload names the built-in one; naming none is the course's
    # (the first --exercises DIR), as `grade --exercises DIR` grades against DIR.
    in_course = submit(client, WRONG, filename="wrong.py", seed=seed, lang="en", exercise_set="course", wait=60)
    in_builtin = client.post("/api/v1/submissions", params={"wait": 60},
                             files={"file": ("mistake_cosine.py", mistake.encode())},
                             data={"seed": str(seed), "lang": "en", "exercise_set": "builtin"})
    by_default = submit(client, WRONG, filename="wrong.py", seed=seed, lang="en", wait=60)
    for answer in (in_course, in_builtin, by_default):
        assert answer.status_code == 200, answer.text
    course_body, builtin_body, default_body = in_course.json(), in_builtin.json(), by_default.json()
    assert course_body["exercise_set"] == default_body["exercise_set"] == "course"
    assert builtin_body["exercise_set"] == "builtin"
    assert [e["id"] for e in course_body["scorecard"]["exercises"]] == ["double-it"]
    assert course_body["scorecard"]["score"] == 0.0 and course_body["scorecard"]["max_score"] == 2.0
    for body, expected in ((course_body, expected_course), (builtin_body, expected_builtin),
                           (default_body, expected_course)):
        got = comparable(body["scorecard"])
        assert got == comparable(expected), "; ".join(differences(got, comparable(expected))[:5])
    right = submit(client, RIGHT, seed=seed, exercise_set="course", exercises=["double-it"], wait=60).json()
    assert right["score"] == right["max_score"] == 2.0


def test_grader_submit_names_the_set_and_prints_what_grade_exercises_dir_prints(tmp_path, server, course):
    path = tmp_path / "wrong.py"
    path.write_text(WRONG, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env.update({"GRADER_SERVER": server.url, "NO_COLOR": "1"})
    submitted = subprocess.run([sys.executable, "-m", "grader.service", "submit", path.name, "--seed", "8", "--lang", "en",
                                "--exercise-set", "course"], capture_output=True, text=True, cwd=tmp_path, env=env,
                               timeout=300)
    graded = run_cli(path.name, "--exercises", str(course), "--seed", "8", "--lang", "en", cwd=tmp_path)
    assert submitted.returncode == graded.returncode == 1, submitted.stderr
    assert submitted.stdout == graded.stdout and "double-it" in submitted.stdout
    unknown = subprocess.run([sys.executable, "-m", "grader.service", "submit", path.name, "--exercise-set", "nope"],
                             capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert unknown.returncode == 2 and "this server grades: course, builtin" in unknown.stderr


def test_an_unknown_set_is_422_naming_the_sets(client):
    answer = assert_problem(submit(client, RIGHT, exercise_set="no-such-set"), 422, "unknown_exercise_set")
    assert "no-such-set" in answer["message"] and "course, builtin" in answer["message"]
    form = client.post("/api/v1/submissions", files={"file": ("a.py", RIGHT.encode())}, data={"exercise_set": "nope"})
    assert "course, builtin" in assert_problem(form, 422, "unknown_exercise_set")["message"]
    # An exercise of the other set is not one of this set's.
    other = assert_problem(submit(client, RIGHT, exercise_set="course", exercises=["double-backward"]), 422,
                           "unknown_exercise")
    assert "'course'" in other["message"] and "double-it" in other["message"]
    assert_problem(submit(client, RIGHT, exercise_set=""), 422, "invalid_request")
    assert_problem(client.get("/api/v1/exercises", params={"set": "nope"}), 422, "unknown_exercise_set")
    assert_problem(client.get("/api/v1/starter.py", params={"set": "nope"}), 422, "unknown_exercise_set")


def test_exercises_and_starter_per_set(client):
    default = client.get("/api/v1/exercises").json()
    assert default["exercise_set"] == "course" and [e["id"] for e in default["exercises"]] == ["double-it"]
    assert default["sets"] == [{"name": "course", "default": True, "exercises": ["double-it"]},
                               {"name": "builtin", "default": False, "exercises": BUILTIN_IDS}]
    assert default["exercises"][0]["title"] == {"en": "Double it", "zh": "加倍"}
    builtin = client.get("/api/v1/exercises", params={"set": "builtin"}).json()
    assert builtin["exercise_set"] == "builtin" and [e["id"] for e in builtin["exercises"]] == BUILTIN_IDS
    assert builtin["sets"] == default["sets"]
    starter = client.get("/api/v1/starter.py", params={"set": "course"}).text
    assert "def double(x):" in starter and "def f(" not in starter and "--exercises course" in starter
    assert "def double(" not in client.get("/api/v1/starter.py", params={"set": "builtin"}).text


def test_gradebook_and_statistics_are_per_set(client, server):
    auth = {"Authorization": f"Bearer {token(server.db, 'instructor', 'Prof')}"}
    submit(client, WRONG, student="gina", seed=3, exercise_set="course", wait=60)
    submit(client, (EXAMPLES / "solution.py").read_text(encoding="utf-8"), student="gina", seed=3,
           exercise_set="builtin", exercises=["double-backward"], wait=60)
    course_book = client.get("/api/v1/gradebook.csv", params={"set": "course"}, headers=auth)
    assert course_book.status_code == 200 and 'filename="gradebook-latest.csv"' in course_book.headers["content-disposition"]
    assert client.get("/api/v1/gradebook.csv", headers=auth).text == course_book.text  # the default set's
    lines = course_book.text.splitlines()
    assert lines[0] == "student,submission,file,submitted,score,max_score,double-it"
    gina = next(line for line in lines if line.startswith("gina,"))
    assert gina.endswith(",0,2,0")
    # The built-in set's gradebook holds gina's built-in submission, not the course's.
    builtin = client.get("/api/v1/gradebook.csv", params={"set": "builtin"}, headers=auth)
    assert "gradebook-builtin-latest.csv" in builtin.headers["content-disposition"]
    builtin_book = builtin.text.splitlines()
    assert builtin_book[0].endswith(",".join(BUILTIN_IDS))
    assert next(line for line in builtin_book if line.startswith("gina,")).split(",")[4] == "10"
    stats = client.get("/api/v1/stats", params={"set": "course"}, headers=auth).json()
    assert stats["exercise_set"] == "course" and {c["exercise"] for c in stats["checks"]} == {"double-it"}
    values = next(c for c in stats["checks"] if c["check"] == "values")
    assert values["failed"] >= 1 and values["fail_share"] > 0
    assert client.get("/api/v1/stats", headers=auth).json()["exercise_set"] == "course"
    assert client.get("/api/v1/stats", params={"set": "builtin"}, headers=auth).json()["exercise_set"] == "builtin"
    assert_problem(client.get("/api/v1/stats", params={"set": "x"}, headers=auth), 422, "unknown_exercise_set")


def test_restart_grades_a_queued_job_of_the_second_set_against_it(tmp_path, course):
    first = Server(tmp_path, "--jobs", "1", "--rate", "0", "--exercises", str(course)).start()
    try:
        with first.client() as http:
            slow = submit(http, SLOW, filename="slow.py", seed=9).json()
            deadline = time.monotonic() + 30
            while http.get(slow["links"]["self"]).json()["status"] != "running" and time.monotonic() < deadline:
                time.sleep(0.05)
            queued = submit(http, WRONG, filename="wrong.py", seed=9, exercise_set="course").json()
        first.kill()
        assert first.reap(timeout=20) == []
    finally:
        first.stop()
    with sqlite3.connect(first.db) as db:
        stored = dict(db.execute("SELECT id, status || ':' || exercise_set FROM submissions").fetchall())
    assert stored[queued["id"]] == "queued:course"
    second = Server(tmp_path, "--jobs", "1", "--rate", "0", "--exercises", str(course), db=first.db).start()
    try:
        with second.client() as http:
            done = result(http, queued["id"])
    finally:
        second.stop()
    assert done["status"] == "graded" and done["attempts"] == 1 and done["exercise_set"] == "course"
    expected = graded_by_cli(tmp_path, "wrong.py", WRONG, 9, "--exercises", str(course))
    assert comparable(done["scorecard"]) == comparable(expected)


def serve_fails(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`grader serve ARGS` expected to stop at once with a usage error."""
    return subprocess.run([sys.executable, "-m", "grader.service", "serve", "--port", "0", "--db", str(cwd / "g.db"),
                           *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_usage_errors_of_several_sets(tmp_path, course):
    other = write_course(tmp_path / "elsewhere")  # also named `course`
    clash = serve_fails("--exercises", str(course), "--exercises", str(other), cwd=tmp_path)
    assert clash.returncode == 2 and "two exercise sets would be named 'course'" in clash.stderr, clash.stderr
    builtin = write_course(tmp_path, "builtin")
    named_builtin = serve_fails("--exercises", str(builtin), cwd=tmp_path)
    assert named_builtin.returncode == 2 and "'builtin'" in named_builtin.stderr
    alone = serve_fails("--no-builtin", cwd=tmp_path)
    assert alone.returncode == 2 and "--no-builtin needs at least one --exercises DIR" in alone.stderr
    extra = write_course(tmp_path, "extra")
    cluster = serve_fails("--exercises", str(course), "--exercises", str(extra), "--cluster", "tcp://127.0.0.1:1",
                          cwd=tmp_path)
    assert cluster.returncode == 2 and "a cluster service grades one exercise set for now" in cluster.stderr
    assert len(cluster.stderr.strip().splitlines()) == 1
    missing = serve_fails("--exercises", str(tmp_path / "absent"), cwd=tmp_path)
    spec = run_cli(str(ROOT / "submissions_example" / "solution.py"), "--exercises", str(tmp_path / "absent"))
    assert missing.returncode == spec.returncode == 2
    assert "not a directory of exercise specs" in missing.stderr and "Traceback" not in missing.stderr
    for done in (clash, named_builtin, alone, cluster, missing):
        assert "Traceback" not in done.stderr


def test_no_builtin_serves_only_the_course(tmp_path, course):
    instance = Server(tmp_path, "--jobs", "1", "--rate", "0", "--no-builtin", "--exercises", str(course)).start()
    try:
        with instance.client() as http:
            listing = http.get("/api/v1/exercises").json()
            graded = submit(http, RIGHT, seed=1, wait=60).json()
            refused = submit(http, RIGHT, exercise_set="builtin")
    finally:
        instance.stop()
    assert listing["exercise_set"] == "course" and [s["name"] for s in listing["sets"]] == ["course"]
    assert graded["exercise_set"] == "course" and graded["score"] == 2.0
    assert "this server grades: course" in assert_problem(refused, 422, "unknown_exercise_set")["message"]
