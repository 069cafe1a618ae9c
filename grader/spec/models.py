"""Pydantic models of an exercise spec: inputs, calls, and the base every check kind extends."""

from __future__ import annotations

import ast
import builtins
import difflib
import math
import re
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError, field_validator, model_validator

from grader.i18n import Localized
from grader.source import parse

IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""A Python identifier: names of student functions, inputs, calls and reference functions."""
SLUG = r"^[a-z0-9][a-z0-9_-]*$"
"""An exercise or check id: lower-case letters, digits, '-' and '_'."""

Dtype = Literal["float64", "float32", "float16", "bfloat16"]

MAX_INPUT_ENTRIES = 1_000_000
"""The most entries a tensor input may have."""
MAX_CASE_ENTRIES = 2_000_000
"""The most tensor entries the inputs of one call may have together: a call's arguments cross to the
student's process in one message, whose size is bounded (grader/wire.py)."""


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors, values are frozen, docstrings document fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


EXPRESSION_NAMES = ("x", "torch", "math")
"""The names an input expression may use besides Python's builtins (as `grader.arguments` evaluates it)."""


def did_you_mean(name: str, choices: Any) -> str:
    """` (did you mean 'rtol'?)` when one of the choices is close to `name`, else ""."""
    close = difflib.get_close_matches(str(name), sorted(str(c) for c in choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _bound_names(tree: ast.AST) -> set[str]:
    """Names an expression binds itself: comprehension targets, lambda parameters, `:=` targets."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return bound


def unknown_names(expr: str) -> list[str]:
    """The names an expression reads that it could never find: not `x`, `torch`, `math`, a builtin, nor bound in it."""
    tree = parse(expr, mode="eval")
    known = set(EXPRESSION_NAMES) | set(dir(builtins)) | _bound_names(tree)
    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - known)


def _check_expression(expr: str) -> str:
    try:
        parse(expr, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not a Python expression: {exc.msg}") from None
    unknown = unknown_names(expr)
    if unknown:
        # Found here, when the spec loads, rather than as a NameError in the student's report.
        # The suggestion is for the first name that has one (`np` has none, `torhc` has `torch`).
        first = next((n for n in unknown if did_you_mean(n, EXPRESSION_NAMES)), unknown[0])
        names = ", ".join(repr(n) for n in unknown)
        # numpy is the usual slip: its functions have torch twins that keep the graph.
        numpy = " (numpy is not among them: torch has the same functions, torch.sin, torch.tensor, ...)" if (
            {"np", "numpy"} & set(unknown)) else ""
        raise ValueError(f"unknown name{'s' if len(unknown) > 1 else ''} {names}{did_you_mean(first, EXPRESSION_NAMES)}: "
                         f"an expression may use {', '.join(EXPRESSION_NAMES)} and Python's builtins{numpy}")
    return expr


PyExpr = Annotated[str, AfterValidator(_check_expression)]
"""A Python expression, checked for syntax and for names it cannot find when the spec loads."""


def undeclared_variable(name: str, exercise: ExerciseBase) -> str:
    """Why a module-level name the spec reads must be declared under `variables`, with the one probably meant."""
    declared = ", ".join(sorted(exercise.variables)) or "none"
    return (f"{name!r} is not declared under `variables`{did_you_mean(name, exercise.variables)} (declared: {declared}): "
            "declare it with a summary, so that starter files show students its name")


class TensorInput(SpecModel):
    """A floating tensor drawn afresh on every run from a seeded generator."""

    kind: Literal["tensor"]
    shape: list[Annotated[int, Field(ge=0)]] = []
    """Shape of the tensor; `[]` is a 0-d tensor."""
    dtype: Dtype = "float64"
    """Floating dtype of the tensor."""
    dist: Literal["uniform", "normal", "linspace", "stratified"] = "uniform"
    """uniform on [low, high); normal(mean, std); linspace: evenly spaced, sorted; stratified: sample i of n lies in the i-th of n equal slices of [low, high)."""
    low: float = -1.0
    """Lower end of the range (uniform, linspace, stratified)."""
    high: float = 1.0
    """Upper end of the range (uniform, linspace, stratified)."""
    mean: float = 0.0
    """Mean of the normal distribution."""
    std: Annotated[float, Field(gt=0)] = 1.0
    """Standard deviation of the normal distribution."""
    domain_from: str | None = Field(default=None, pattern=IDENT)
    """Name of a module-level `(low, high)` tuple in the submission that replaces low and high when it is valid."""
    requires_grad: bool = False
    """Whether the tensor handed to the student already requires grad."""
    include: Annotated[list[float], Field(min_length=1, max_length=100)] | None = None
    """Exact values mixed into the random draws (0.0, -0.0, a branch boundary), placed as given whatever the range; each appears at least once per call set's draws when there are entries enough."""
    include_share: Annotated[float, Field(gt=0, le=1)] | None = None
    """With `include`: the share of all entries of a call set's draws (over its samples) that are replaced by those values, in turn; default: one entry per value."""

    @property
    def entries(self) -> int:
        """How many numbers the tensor holds."""
        return math.prod(self.shape)

    # A message that opens with a field's name in backquotes is reported at that field's line.
    @model_validator(mode="after")
    def _range_is_ordered(self) -> TensorInput:
        if self.entries > MAX_INPUT_ENTRIES:
            raise ValueError(f"`shape` {self.shape} has {self.entries:,} entries; an input has at most {MAX_INPUT_ENTRIES:,}")
        if self.dist != "normal" and not self.low < self.high:
            raise ValueError(f"`low` ({self.low}) must be smaller than `high` ({self.high})")
        if self.include_share is not None and self.include is None:
            raise ValueError("`include_share` is the share of entries replaced by the values of `include`; give `include` too")
        if self.include is not None and self.dist == "linspace":
            raise ValueError("`include` mixes values into random draws; a linspace is not random "
                             "(choose low, high and the shape so that it passes through the value)")
        return self


class FunctionInput(SpecModel):
    """An elementwise function of `x` handed to the student, written as a torch expression."""

    kind: Literal["function"]
    expr: PyExpr
    """Expression in `x` (and `torch`, `math`), for example `torch.exp(x) * x`."""


class GraphInput(SpecModel):
    """A tensor that carries an autograd graph, built by an expression from a fresh leaf."""

    kind: Literal["graph"]
    leaf: str = Field(pattern=IDENT)
    """Name of a tensor input; a copy of it that requires grad is bound to `x`."""
    expr: PyExpr
    """Expression in `x` (and `torch`, `math`) whose value is handed to the student."""


class ValueInput(SpecModel):
    """A constant: number, string, boolean, list or null."""

    kind: Literal["value"]
    value: JsonValue
    """The value handed to the student as is."""


InputSpec = Annotated[
    Union[TensorInput, FunctionInput, GraphInput, ValueInput], Field(discriminator="kind")
]


class FunctionSpec(SpecModel):
    """A function the student's submission must define."""

    signature: str = Field(pattern=r"^\(.*\)$")
    """Its parameters as written in Python, for example `(f, x)`."""
    summary: Localized
    """One line on what it does, shown when it is missing and in starter files."""


class VariableSpec(SpecModel):
    """An optional module-level value the submission may define."""

    summary: Localized
    """One line on what it holds."""
    example: str | None = None
    """How it might look, for starter files, for example `(-10.0, 10.0)`."""


class CallSet(SpecModel):
    """A group of calls to one student function on generated inputs; checks judge what they return."""

    function: str = Field(pattern=IDENT)
    """The student function to call; it must be declared under `functions`."""
    args: list[str] | None = None
    """Names of inputs passed positionally, for a single case. Give this or `cases`."""
    cases: list[list[str]] | None = None
    """Several cases, each a list of input names passed positionally. Give this or `args`."""
    samples: Annotated[int, Field(ge=1, le=1000)] = 1
    """Independent draws of the case's inputs."""
    repeat: Annotated[int, Field(ge=1, le=10)] = 1
    """Calls per draw, each on an equal fresh copy of the inputs (catches state kept between calls)."""
    grad: bool = False
    """Also compute, outside the student's code, the autograd gradient of the returned value (summed) with respect to the first tensor argument."""

    @model_validator(mode="after")
    def _args_or_cases(self) -> CallSet:
        if (self.args is None) == (self.cases is None):
            raise ValueError("give exactly one of `args` (one case) or `cases` (a list of cases)")
        return self

    def all_cases(self) -> list[list[str]]:
        """Every case as a list of input names."""
        return [self.args] if self.args is not None else list(self.cases or [])


class CheckBase(SpecModel):
    """Fields every check kind has; a kind adds its own and a `kind: Literal[...]` tag."""

    captures: ClassVar[frozenset[str]] = frozenset()
    """What the sandbox must record during this check's calls beyond values: `arcs`, `figures`."""

    id: str = Field(pattern=SLUG)
    """Identifier of the check, unique within its exercise."""
    kind: str
    """Which kind of check this is."""
    points: Annotated[float, Field(ge=0)] = 0.0
    """Points awarded when the check passes; a check worth 0 is feedback only."""
    title: Localized | None = None
    """A short description shown in reports."""
    hint: Localized | None = None
    """What to tell the student when the check does not pass and the grader recognises no more specific mistake."""
    visibility: Literal["visible", "hidden"] = "visible"
    """Hidden checks count, but their messages and inputs are withheld from students."""
    builtin_hints: bool = True
    """false: the grader adds none of its own hints or tips to this check (the message stays; an instructor's `hint` is shown either way)."""

    answers_by_raising: ClassVar[bool] = False
    """True for kinds whose calls answer by raising (`raises`); for all others a check whose every call raised is an error."""

    def call_names(self) -> list[str]:
        """The call sets whose observations this check judges."""
        calls: Any = getattr(self, "calls", None)
        if calls is None:
            return []
        return [calls] if isinstance(calls, str) else list(calls)

    def reference_names(self) -> list[str]:
        """The functions of reference.py this check needs."""
        return []

    def reference_calls(self) -> list[tuple[str, str]]:
        """(reference function, call set): the check wants that function's value on every call of the set,
        whatever the student returns (so it can be computed while the child still runs)."""
        return []

    def attribute_names(self) -> list[str]:
        """Module-level names of the submission this check reads."""
        return []

    def watched(self) -> list[str]:
        """Qualified names of functions whose calls the child must count (`numpy.cos`)."""
        return []

    def problems_in(self, exercise: ExerciseBase) -> list[tuple[tuple[str | int, ...], str]]:
        """What is inconsistent between this check and the rest of its exercise (paths relative to the check)."""
        return []

    def absence(self) -> bool:
        """Whether the check asks that something does not happen (`forbid_*`, `not_used`): it then earns points only alongside an answer."""
        return False

    def answer_call_sets(self, exercise: ExerciseBase) -> list[str]:
        """The call sets whose answers an absence check needs (default: its own)."""
        return self.call_names()

    def probes(self) -> list[str]:
        """Call sets whose calls are also made at two nearby points (first tensor argument ± h·v), for a finite-difference cross-check."""
        return []


def _valid_or_none(adapter: TypeAdapter[Any], value: Any) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


class ExerciseBase(SpecModel):
    """One exercise: what the student defines, the inputs and calls the grader makes, and the checks."""

    id: str = Field(pattern=SLUG)
    """Stable identifier, used on the command line (`-e ID`) and in reports."""
    title: Localized
    """Title shown in reports."""
    description: Localized | None = None
    """What the exercise asks, for starter files and reports."""
    order: int = 0
    """Position among the exercises of a directory (then by id)."""
    reference: str | None = "reference.py"
    """Instructor Python beside the YAML that computes expected answers with autograd; null when no check needs it."""
    builtin_hints: bool = True
    """false: the grader adds none of its own hints or tips to any check of this exercise (an instructor's `hint` is shown either way)."""
    functions: dict[str, FunctionSpec] = {}
    """The functions the submission defines, by name."""
    variables: dict[str, VariableSpec] = {}
    """Optional module-level values the submission may define, by name."""
    inputs: dict[str, InputSpec] = {}
    """Named inputs that calls pass to student functions."""
    calls: dict[str, CallSet] = {}
    """Named groups of calls that checks judge."""

    checks: list[Any]
    """The checks; each has a `kind` that picks its fields."""

    @field_validator("functions", "variables", "inputs", "calls")
    @classmethod
    def _keys_are_identifiers(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = [k for k in value if not re.match(IDENT, k)]
        if bad:
            raise ValueError(f"names must be Python identifiers: {', '.join(map(repr, bad))}")
        return value

    def dangling_references(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Names that point nowhere (a call to an undeclared function, a check on an unknown call...), with their field paths.

        Each names what is declared and, when one is close, the name that was probably meant.
        Also works on a partly valid spec (see `partial`): entries that failed validation are
        None, count as declared, and are not looked into (their own errors are reported already).
        """
        problems: list[tuple[tuple[str | int, ...], str]] = []

        def declared(name: str, names: dict[str, Any]) -> str:
            return f"{did_you_mean(name, names)} (declared: {', '.join(sorted(names)) or 'none'})"

        for name, spec in self.inputs.items():
            if isinstance(spec, TensorInput) and spec.domain_from and spec.domain_from not in self.variables:
                # A misspelt name would be read from no submission: the range silently stays low..high.
                problems.append((("inputs", name, "domain_from"), undeclared_variable(spec.domain_from, self)))
            if isinstance(spec, GraphInput) and spec.leaf in self.inputs and self.inputs[spec.leaf] is None:
                continue
            if isinstance(spec, GraphInput) and not isinstance(self.inputs.get(spec.leaf), TensorInput):
                tensors = {n: s for n, s in self.inputs.items() if isinstance(s, TensorInput)}
                problems.append((("inputs", name, "leaf"), f"{spec.leaf!r} is not a tensor input{declared(spec.leaf, tensors)}"))
        for name, call in self.calls.items():
            if call is None:
                continue
            if call.function not in self.functions:
                problems.append((("calls", name, "function"),
                                 f"{call.function!r} is not declared under `functions`{declared(call.function, self.functions)}"))
            field = "args" if call.args is not None else "cases"
            for arg in sorted({a for case in call.all_cases() for a in case} - set(self.inputs)):
                problems.append((("calls", name, field),
                                 f"input {arg!r} is not declared under `inputs`{declared(arg, self.inputs)}"))
        seen: set[str] = set()
        for i, check in enumerate(self.checks):
            if check is None:
                continue
            if check.id in seen:
                problems.append((("checks", i, "id"), f"{check.id!r} is used by another check too"))
            seen.add(check.id)
            raw_calls: Any = getattr(check, "calls", None)
            for call in check.call_names():
                if call not in self.calls:
                    # The field that holds the name: `calls`, or `against` (gradient_consistency).
                    named_by_calls = call == raw_calls or (isinstance(raw_calls, list) and call in raw_calls)
                    holder = "calls" if named_by_calls or not hasattr(check, "against") else "against"
                    problems.append((("checks", i, holder), f"{call!r} is not declared under `calls`{declared(call, self.calls)}"))
            if check.reference_names() and self.reference is None:
                at = ("reference",) if "reference" in type(check).model_fields else ()
                problems.append((("checks", i, *at), "needs reference functions but the exercise's `reference` is null"))
            problems.extend((("checks", i, *path), text) for path, text in check.problems_in(self))
        return problems

    def oversized_cases(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Cases whose tensors together are too large to send in one call (a graph input sends its leaf)."""
        def entries(name: str) -> int:
            spec = self.inputs.get(name)
            if isinstance(spec, GraphInput):
                spec = self.inputs.get(spec.leaf)
            return spec.entries if isinstance(spec, TensorInput) else 0

        problems: list[tuple[tuple[str | int, ...], str]] = []
        for name, call in self.calls.items():
            if call is None:
                continue
            field = "args" if call.args is not None else "cases"
            for i, case in enumerate(call.all_cases()):
                total = sum(entries(a) for a in case)
                if total > MAX_CASE_ENTRIES:
                    at = (field,) if call.args is not None else (field, i)
                    problems.append((("calls", name, *at), f"the tensors of this case have {total:,} entries together; "
                                                           f"one call's inputs have at most {MAX_CASE_ENTRIES:,}"))
        return problems

    @classmethod
    def partial(cls, data: dict[str, Any], check_adapter: TypeAdapter[Any]) -> ExerciseBase:
        """The parts of an invalid spec that validate on their own (others as None), to look for dangling names and try the rest."""
        def each(section: str, adapter: TypeAdapter[Any]) -> dict[str, Any]:
            raw = data.get(section)
            return {str(k): _valid_or_none(adapter, v) for k, v in raw.items()} if isinstance(raw, dict) else {}

        raw_checks = data.get("checks")
        return cls.model_construct(
            id=str(data.get("id", "")),  # draws of sample inputs are seeded by it
            functions=each("functions", TypeAdapter(FunctionSpec)),
            variables=each("variables", TypeAdapter(VariableSpec)),
            inputs=each("inputs", TypeAdapter(InputSpec)),
            calls=each("calls", TypeAdapter(CallSet)),
            checks=[_valid_or_none(check_adapter, c) for c in raw_checks] if isinstance(raw_checks, list) else [],
            reference=data.get("reference", "reference.py"),
        )

    @property
    def max_score(self) -> float:
        """Sum of the points of all checks."""
        return float(sum(c.points for c in self.checks))

    def attribute_names(self) -> list[str]:
        """Module-level names of the submission this exercise reads (domains, short answers)."""
        names = {i.domain_from for i in self.inputs.values() if isinstance(i, TensorInput) and i.domain_from}
        for check in self.checks:
            names.update(check.attribute_names())
        return sorted(n for n in names if n)
