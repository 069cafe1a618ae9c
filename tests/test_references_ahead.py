"""Reference values fetched while the child runs: one round trip per compared function, the judge served from memory."""

from __future__ import annotations

import threading

from conftest import EXAMPLES
from grader.checks.ahead import ReferencesAhead
from grader.grading import GradeOptions, grade_submission
from grader.sandbox.references import ReferenceUnavailable


def _watch_round_trips(monkeypatch, references):
    """Record (thread name, function, how many argument lists) of each round trip to the reference worker."""
    trips: list[tuple[str, str, int]] = []
    real = references.call_many

    def counting(module, function, each):
        trips.append((threading.current_thread().name, function, len(each)))
        return real(module, function, each)

    monkeypatch.setattr(references, "call_many", counting)
    return trips


def test_grading_fetches_each_compared_reference_once_while_the_child_runs(monkeypatch, sandbox, builtin):
    trips = _watch_round_trips(monkeypatch, sandbox.references)
    graded = grade_submission(EXAMPLES / "solution.py", builtin, sandbox, GradeOptions(seed=5))
    assert graded.scorecard.score == graded.scorecard.max_score == 50
    ahead = [(function, n) for thread, function, n in trips if thread == "references-ahead"]
    compared = {c.reference for e in builtin for c in e.spec.checks if c.kind == "compare"}
    assert {function for function, _ in ahead} == compared
    assert len(ahead) == len(compared)  # one round trip per function, its calls deduplicated
    # What the judge still asks for itself are only the plot's curves, whose points come from the
    # student's figure; nothing that was fetched ahead is asked for again.
    judged = [(function, n) for thread, function, n in trips if thread != "references-ahead"]
    assert judged and all(n == 1 and function not in compared for function, n in judged), judged


class _Flaky:
    """A worker whose first round trip fails, as a reference worker that died would; it echoes the arguments."""

    def __init__(self) -> None:
        self.trips = 0

    def call(self, module, function, args):
        return self.call_many(module, function, [args])[0]

    def call_many(self, module, function, each):
        self.trips += 1
        if self.trips == 1:
            raise ReferenceUnavailable("the reference worker stopped")
        return [{"echo": args} for args in each]


class _Loaded:
    """The two things `ReferencesAhead.start` reads of a loaded exercise."""

    def __init__(self, spec, reference_key: str = "key") -> None:
        self.spec = spec
        self.reference_key = reference_key


SPEC = {
    "id": "demo", "title": "Demo", "functions": {"double": {"signature": "(x)", "summary": "2x"}},
    "inputs": {"x": {"kind": "tensor", "shape": [3]}},
    "calls": {"some": {"function": "double", "args": ["x"], "samples": 3}},
    "checks": [{"id": "same", "kind": "compare", "calls": "some", "reference": "double", "points": 1}],
}


def _plan(spec):
    from grader.observations import ModuleReport
    from grader.plan import build_plan

    module = ModuleReport.model_validate({"type": "module", "ok": True, "attributes": {},
                                          "functions": {"double": {"defined": True, "callable": True, "line": 1}}})
    return build_plan([spec], module, seed=1)


def test_what_could_not_be_fetched_ahead_is_asked_for_again_by_the_judge():
    from grader.spec.loader import exercise_model

    spec = exercise_model().model_validate(SPEC)
    plan = _plan(spec)
    worker = _Flaky()
    ahead = ReferencesAhead(worker)
    ahead.start([_Loaded(spec)], plan)
    ahead.wait()
    assert worker.trips == 1  # the fetch ahead failed, quietly: the judge reports failures, not this
    each = [list(c.args) for c in plan.for_call_set("demo", "some")]
    assert len(each) == 3
    assert ahead.call_many("key", "double", each) == [{"echo": args} for args in each] and worker.trips == 2
    assert ahead.call("key", "double", each[1]) == {"echo": each[1]} and worker.trips == 2  # from memory now


def test_an_exercise_without_reference_code_fetches_nothing():
    from grader.spec.loader import exercise_model

    class NoWorker:
        def call_many(self, module, function, each):
            raise AssertionError("nothing should be asked")

    spec = exercise_model().model_validate(SPEC)
    ahead = ReferencesAhead(NoWorker())  # type: ignore[arg-type]
    ahead.start([_Loaded(spec, reference_key="")], _plan(spec))
    ahead.wait()
