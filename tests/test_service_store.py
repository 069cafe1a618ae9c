"""The service's parts that need no server: the store's state machine and recovery, tokens, rate limits, names."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from grader.service.auth import create_token, verify
from grader.service.pool import disk_name
from grader.service.ratelimit import RateLimiter
from grader.service.sets import ExerciseSet, ExerciseSets, set_name
from grader.store import Figure, NewSubmission, Store


def new(submission_id: str, **fields) -> NewSubmission:
    """A submission to store."""
    values = {"filename": "solution.py", "source": b"x = 1\n", "student": None, "exercise_set": "builtin",
              "exercises": (), "seed": 1, "lang": "en", **fields}
    return NewSubmission(id=submission_id, **values)


@pytest.fixture
def store(tmp_path):
    """A fresh database."""
    opened = Store(tmp_path / "grader.db")
    yield opened
    opened.close()


def test_the_database_is_in_wal_mode_and_reopens(tmp_path, store):
    assert store.journal_mode() == "wal"
    store.add_submission(new("a"))
    store.close()
    again = Store(tmp_path / "grader.db")
    assert again.get("a").status == "queued"
    again.close()


def test_status_moves_one_way_and_results_are_written_once(store):
    store.add_submission(new("a", source="é = 1\n".encode()))
    running = store.mark_running("a")
    assert running.status == "running" and running.attempts == 1 and running.source == "é = 1\n".encode()
    assert store.mark_running("a") is None  # not queued any more
    card = {"score": 3.0, "max_score": 10.0, "exercises": [], "nan": float("nan")}
    assert store.finish("a", card, [Figure("e.c.f.png", "e", "c", "figure", b"\x89PNG")], 0.5)
    assert not store.finish("a", {"score": 0.0}, [], 0.1)  # a second result changes nothing
    assert not store.fail("a", "late failure")
    row = store.get("a")
    assert row.status == "graded" and row.score == 3.0 and row.scorecard["score"] == 3.0
    assert row.scorecard["nan"] != row.scorecard["nan"]  # NaN survives the round trip
    assert store.figure("a", "e.c.f.png") == b"\x89PNG" and store.figure("a", "other.png") is None
    assert store.counts() == {"queued": 0, "running": 0, "graded": 1, "failed": 0}


def test_recovery_requeues_unfinished_work_and_gives_up_after_repeated_crashes(store):
    for name in ("queued", "running-once", "running-twice", "graded"):
        store.add_submission(new(name))
    store.mark_running("running-once")
    store.mark_running("graded")
    store.finish("graded", {"score": 1.0, "max_score": 1.0}, [], 0.1)
    # "running-twice" was being graded during two crashes.
    store.mark_running("running-twice")
    assert store.recover(max_attempts=2).requeued == ["queued", "running-once", "running-twice"]
    store.mark_running("running-twice")
    recovery = store.recover(max_attempts=2)
    assert recovery.failed == ["running-twice"]
    assert recovery.requeued == ["queued", "running-once"]
    failed = store.get("running-twice")
    assert failed.status == "failed" and "not retried" in failed.error and failed.attempts == 2
    assert {store.get(n).status for n in ("queued", "running-once")} == {"queued"}
    assert store.get("graded").status == "graded"


def test_a_clean_stop_puts_back_without_counting_the_attempt(store):
    store.add_submission(new("a"))
    store.mark_running("a")
    assert store.requeue("a", uncount=True)
    row = store.get("a")
    assert row.status == "queued" and row.attempts == 0


def test_latest_and_best_per_student(store):
    for name, student, score, created in (("a1", "ann", 5.0, 1.0), ("a2", "ann", 3.0, 2.0), ("b1", "ben", 9.0, 1.5),
                                          ("x", None, 1.0, 1.0), ("y", None, 2.0, 1.0)):
        store.add_submission(new(name, student=student, created=created))
        store.mark_running(name)
        store.finish(name, {"score": score, "max_score": 10.0}, [], 0.1)
    assert [r.id for r in store.graded_per_student("latest")] == ["a2", "b1", "x", "y"]
    assert [r.id for r in store.graded_per_student("best")] == ["a1", "b1", "x", "y"]
    assert store.students() == [("ann", 2, 2), ("ben", 1, 1)]
    assert [r.id for r in store.submissions(student="ann")] == ["a2", "a1"]


def test_latest_and_best_per_student_of_some_sets(store):
    for name, exercise_set, score, created in (("b", "builtin", 5.0, 1.0), ("c", "course", 1.0, 2.0),
                                               ("old", "/srv/course", 9.0, 0.5)):
        store.add_submission(new(name, student="ann", exercise_set=exercise_set, created=created))
        store.mark_running(name)
        store.finish(name, {"score": score, "max_score": 10.0}, [], 0.1)
    assert [r.id for r in store.graded_per_student("latest")] == ["c"]
    assert [r.id for r in store.graded_per_student("latest", exercise_sets=("builtin",))] == ["b"]
    assert [r.id for r in store.graded_per_student("best", exercise_sets=("course", "/srv/course"))] == ["old"]
    assert list(store.graded_per_student("latest", exercise_sets=())) == []


def test_exercise_sets_by_name_and_by_the_directory_older_versions_stored(tmp_path):
    course = tmp_path / "course"
    sets = ExerciseSets([ExerciseSet("builtin", None, []), ExerciseSet("course", course, [])])
    assert sets.names == ["builtin", "course"] and sets.get(None) is sets.default and sets.get("") is sets.default
    assert sets.get("course").directory == course and sets.get("nope") is None
    assert sets.of_stored(str(course.resolve())) is sets.get("course") and sets.of_stored("/elsewhere") is None
    assert sets.get("course").stored_names() == ("course", str(course.resolve()))
    assert "this server grades: builtin, course" in sets.unknown_message("nope")
    assert set_name(None) == "builtin" and set_name(course / "." ) == "course"
    with pytest.raises(ValueError):
        ExerciseSets([ExerciseSet("a", None, []), ExerciseSet("a", course, [])])


def test_writes_from_many_threads(store):
    def add(k: int) -> None:
        for i in range(20):
            store.add_submission(new(f"{k}-{i}"))
            store.mark_running(f"{k}-{i}")

    threads = [threading.Thread(target=add, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.counts()["running"] == 160


def test_tokens_are_stored_hashed_and_checked(tmp_path, store):
    token_id, token = create_token(store, "instructor", "Prof")
    who = verify(store, token)
    assert who.role == "instructor" and who.name == "Prof" and who.token_id == token_id
    raw = sqlite3.connect(tmp_path / "grader.db").execute("SELECT hash FROM tokens").fetchone()[0]
    assert token.rsplit("_", 1)[-1] not in raw and token not in raw
    assert verify(store, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert verify(store, "grader_ffffffffffff_" + "a" * 43) is None
    assert verify(store, "nonsense") is None
    assert store.revoke_token(token_id) and not store.revoke_token(token_id)
    assert verify(store, token) is None
    with pytest.raises(ValueError):
        create_token(store, "admin", "x")  # type: ignore[arg-type]


def test_rate_limit_allows_a_burst_then_the_rate():
    limiter = RateLimiter(rate_per_minute=60, burst=3)
    assert [limiter.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a", now=0.0) == pytest.approx(1.0)
    assert limiter.take("b", now=0.0) == 0.0  # another client has its own bucket
    assert limiter.take("a", now=1.0) == 0.0  # one second later, one more
    assert RateLimiter.retry_after(0.2) == 1
    assert RateLimiter(0, 1).take("a") == 0.0  # no limit


@pytest.mark.parametrize(("name", "on_disk"), [("solution.py", "solution.py"), ("my answers.py", "submission.py"),
                                               ("答案.ipynb", "答案.ipynb"), ("2nd-try.py", "submission.py")])
def test_submissions_are_graded_under_the_name_grade_would_use(name, on_disk):
    assert disk_name(name) == on_disk


def test_non_finite_numbers_are_kept_as_grade_writes_them():
    from grader.service.app import GraderJSON
    from grader.service.models import Links, SubmissionOut

    out = SubmissionOut(id="a", status="graded", filename="f.py", seed=1, lang="en", created=1.0,
                        scorecard={"worst": float("nan"), "limit": float("inf")}, links=Links(self="s", page="p", figures="f"))
    body = GraderJSON(out.model_dump(mode="json")).body.decode()
    assert '"worst":NaN' in body and '"limit":Infinity' in body
