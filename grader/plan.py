"""The plan: which calls to make, with which generated inputs, once the submission's contents are known."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from grader.inputs import Domain, probe_arguments, wire_argument
from grader.observations import FloatValue, IntValue, ModuleReport, SequenceValue
from grader.spec.models import ExerciseBase, TensorInput

MAX_DOMAIN = 1e6
PROBE_SIGNS = ("+", "-")
"""The two probes of a call (first tensor argument moved by +h·v and by -h·v)."""


def probe_call_set(call_set: str, sign: str) -> str:
    """The name under which a call set's probes are planned: never an identifier, so never a spec's call set."""
    return f"{call_set}{sign}h"


@dataclass(frozen=True)
class PlannedCall:
    """One call of a student function on one draw of inputs."""

    index: int
    exercise: str
    call_set: str
    function: str
    case: int
    sample: int
    repeat: int
    args: tuple[dict[str, Any], ...]
    grad: bool
    capture: frozenset[str]
    private: bool = False
    """Only hidden checks judge this call: what the student prints during it is withheld too."""

    def wire(self) -> dict[str, Any]:
        """The call as the child receives it; a repeat reuses the very objects of the call before it."""
        return {"index": self.index, "exercise": self.exercise, "function": self.function, "args": list(self.args),
                "grad": self.grad, "capture": sorted(self.capture), "reuse_args": self.repeat > 0,
                "private": self.private}


@dataclass(frozen=True)
class Plan:
    """Every call for a submission, and notes on how inputs were chosen."""

    calls: tuple[PlannedCall, ...]
    domains: dict[tuple[str, str], Domain] = field(default_factory=dict)
    """(exercise, input) -> the range taken from the submission (e.g. G_DOMAIN)."""
    domain_problems: dict[tuple[str, str], str] = field(default_factory=dict)
    """(exercise, input) -> why the submission's range was not used."""

    def for_call_set(self, exercise: str, call_set: str) -> list[PlannedCall]:
        """The calls of one call set, in order."""
        return [c for c in self.calls if c.exercise == exercise and c.call_set == call_set]


def _number(value: Any) -> float | None:
    if isinstance(value, IntValue):
        return float(value.v)
    if isinstance(value, FloatValue):
        return value.value
    return None


def read_domain(value: Any) -> tuple[Domain | None, str | None]:
    """A `(low, high)` range from a submission's module-level value, or why it is not one."""
    if not isinstance(value, SequenceValue) or len(value.items) != 2:
        return None, "domain_not_pair"
    low, high = (_number(v) for v in value.items)
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None, "domain_not_numbers"
    if not low < high:
        return None, "domain_not_ordered"
    if max(abs(low), abs(high)) > MAX_DOMAIN:
        return None, "domain_too_wide"
    return (low, high), None


def captures_by_call_set(exercise: ExerciseBase, render_figures: bool = False) -> dict[str, frozenset[str]]:
    """What each call set must record beyond values, from the checks that judge it.

    `png`: render captured figures to images, which costs time; only when they will be kept.
    """
    captures: dict[str, set[str]] = {name: set() for name in exercise.calls}
    for check in exercise.checks:
        for name in check.call_names():
            captures.setdefault(name, set()).update(check.captures)
    if render_figures:
        for capture in captures.values():
            if "figures" in capture:
                capture.add("png")
    return {name: frozenset(c) for name, c in captures.items()}


def private_call_sets(exercise: ExerciseBase) -> set[str]:
    """Call sets judged by hidden checks only."""
    judged_by: dict[str, list[bool]] = {}
    for check in exercise.checks:
        for name in check.call_names():
            judged_by.setdefault(name, []).append(check.visibility == "hidden")
    return {name for name, hidden in judged_by.items() if hidden and all(hidden)}


def build_plan(exercises: list[ExerciseBase], module: ModuleReport, seed: int, render_figures: bool = False) -> Plan:
    """Every call to make, skipping functions the submission does not define."""
    calls: list[PlannedCall] = []
    domains: dict[tuple[str, str], Domain] = {}
    problems: dict[tuple[str, str], str] = {}
    for exercise in exercises:
        overrides: dict[str, Domain] = {}
        for name, spec in exercise.inputs.items():
            if isinstance(spec, TensorInput) and spec.domain_from and spec.domain_from in module.attributes:
                domain, problem = read_domain(module.attributes[spec.domain_from])
                if domain is not None:
                    overrides[name] = domains[(exercise.id, name)] = domain
                else:
                    problems[(exercise.id, name)] = problem or "domain_not_pair"
        captures = captures_by_call_set(exercise, render_figures)
        private = private_call_sets(exercise)
        probed = {name for check in exercise.checks for name in check.probes()}
        for set_name, call_set in exercise.calls.items():
            described = module.functions.get(call_set.function)
            if described is None or not described.defined or not described.callable:
                continue
            for case_number, case in enumerate(call_set.all_cases()):
                for sample in range(call_set.samples):
                    args = tuple(
                        wire_argument(exercise.inputs[arg], exercise.inputs, seed=seed, exercise=exercise.id,
                                      name=arg, sample=sample, samples=call_set.samples, domains=overrides)
                        for arg in case
                    )
                    for repeat in range(call_set.repeat):
                        calls.append(PlannedCall(
                            index=len(calls), exercise=exercise.id, call_set=set_name,
                            function=call_set.function, case=case_number, sample=sample, repeat=repeat,
                            args=args, grad=call_set.grad, capture=captures.get(set_name, frozenset()),
                            private=set_name in private,
                        ))
                    probes = probe_arguments(args, seed=seed, exercise=exercise.id, call_set=set_name,
                                             case=case_number, sample=sample) if set_name in probed else None
                    # The same function at two nearby points, for a finite-difference cross-check of the
                    # gradient autograd finds for it; their paths (arcs) tell where a branch lies between.
                    for sign, probe_args in zip(PROBE_SIGNS, probes or ()):
                        calls.append(PlannedCall(
                            index=len(calls), exercise=exercise.id, call_set=probe_call_set(set_name, sign),
                            function=call_set.function, case=case_number, sample=sample, repeat=0,
                            args=probe_args, grad=False, capture=frozenset({"arcs"}), private=set_name in private,
                        ))
    # Calls that only hidden checks judge come last: what is printed once they begin is withheld,
    # whatever the submission does, so nothing it prints about hidden inputs can reach a student.
    ordered = sorted(calls, key=lambda call: call.private)
    ordered = [replace(call, index=position) for position, call in enumerate(ordered)]
    return Plan(tuple(ordered), domains, problems)
