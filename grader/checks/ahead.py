"""Reference values computed while the child runs: the judge then finds them ready.

The plan fixes every call's arguments before the child makes the first call, and a `compare`
check wants the reference's value on each call of its call set whatever the student returns. So,
once the plan exists, a thread asks the reference worker for those values (one round trip per
check) while the child is still busy; the judge's own requests are then answered from memory.
On an idle grader the child and the reference worker use a core each, and the judge waits for
nothing. Whatever the thread could not get, the judge asks for again, and its failures are the
judge's to report: this is a cache, never a verdict.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.checks.base import References
    from grader.plan import Plan
    from grader.spec.loader import LoadedExercise


def _key(module: str, function: str, args: list[dict[str, Any]]) -> tuple[str, str, str]:
    return module, function, json.dumps(args, sort_keys=True, allow_nan=True)


class ReferencesAhead:
    """`References` that answers from what it fetched ahead of the judge, and asks its worker for the rest."""

    def __init__(self, worker: References) -> None:
        self.worker = worker
        self._answers: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._thread: threading.Thread | None = None

    def start(self, exercises: Iterable[LoadedExercise], plan: Plan) -> None:
        """Fetch, in the background, the reference values the exercises' checks compare on every call of the plan."""
        by_function: dict[tuple[str, str], dict[tuple[str, str, str], list[dict[str, Any]]]] = {}
        for loaded in exercises:
            if not loaded.reference_key:
                continue
            for check in loaded.spec.checks:
                for function, call_set in check.reference_calls():
                    calls = by_function.setdefault((loaded.reference_key, function), {})
                    for call in plan.for_call_set(loaded.spec.id, call_set):
                        # A repeated call (and a call set two checks compare) is computed once.
                        calls.setdefault(_key(loaded.reference_key, function, list(call.args)), list(call.args))
        wanted = [(module, function, list(calls.values())) for (module, function), calls in by_function.items() if calls]
        if wanted:
            self._thread = threading.Thread(target=self._fetch, args=(wanted,), name="references-ahead", daemon=True)
            self._thread.start()

    def _fetch(self, wanted: list[tuple[str, str, list[list[dict[str, Any]]]]]) -> None:
        for module, function, each in wanted:
            try:
                replies = self.worker.call_many(module, function, each)
            except Exception:  # noqa: BLE001 - the judge asks again and reports the failure where it belongs
                return
            for args, reply in zip(each, replies):
                self._answers[_key(module, function, args)] = reply

    def wait(self) -> None:
        """Return once the background fetch is over (the judge starts after it)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def call(self, module: str, function: str, args: list[dict[str, Any]]) -> dict[str, Any]:
        """Like the worker's `call`, from memory when fetched ahead."""
        return self.call_many(module, function, [args])[0]

    def call_many(self, module: str, function: str, each: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Like the worker's `call_many`; only what was not fetched ahead goes to the worker."""
        self.wait()
        keys = [_key(module, function, args) for args in each]
        missing = [i for i, key in enumerate(keys) if key not in self._answers]
        if missing:
            replies = self.worker.call_many(module, function, [each[i] for i in missing])
            for i, reply in zip(missing, replies):
                self._answers[keys[i]] = reply
        return [self._answers[key] for key in keys]
