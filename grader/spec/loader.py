"""Loading exercise specs: YAML with line numbers, validation, and the instructor's reference code.

Every problem in a spec is reported at once, each with its file, YAML line and field path
(`checks[2].rtol`), and the valid choices where there are some.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Protocol, Union

import yaml
from pydantic import Field, TypeAdapter, ValidationError, create_model

from grader.checks import available_kinds
from grader.checks.base import CheckKind
from grader.spec.models import ExerciseBase

SPEC_FILE = "exercise.yaml"


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec file."""

    file: Path
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.path + ': ' if self.path else ''}{self.message}"


class SpecError(Exception):
    """One or more spec files are invalid."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        super().__init__("\n".join(map(str, issues)))
        self.issues = issues


class ReferenceLoader(Protocol):
    """Imports reference files somewhere trusted and says what they define (`Sandbox.references`)."""

    def load(self, modules: dict[str, Path]) -> dict[str, Any]:
        """`{"functions": {key: [names]}, "errors": {key: {type, message, line}}}`."""


@dataclass(frozen=True)
class LoadedExercise:
    """A validated exercise, where it came from, and where its reference code is."""

    spec: ExerciseBase
    path: Path
    reference_path: Path | None
    """The exercise's reference.py, run in the trusted reference worker (never imported by the grader)."""

    @property
    def reference_key(self) -> str:
        """How the reference worker knows this exercise's reference module: its path."""
        return str(self.reference_path) if self.reference_path is not None else ""

    @property
    def directory(self) -> Path:
        """The folder of the YAML file."""
        return self.path.parent


def exercise_model(kinds: dict[str, CheckKind] | None = None) -> type[ExerciseBase]:
    """The Exercise model whose `checks` is the discriminated union of the given (or available) kinds."""
    kinds = available_kinds() if kinds is None else kinds
    return _exercise_model(tuple(sorted(kinds.items(), key=lambda item: item[0])))


@lru_cache(maxsize=8)
def _exercise_model(kinds: tuple[tuple[str, CheckKind], ...]) -> type[ExerciseBase]:
    models = tuple(kind.model for _, kind in kinds)
    check = Annotated[Union[models], Field(discriminator="kind")]  # type: ignore[valid-type]
    return create_model(
        "Exercise", __base__=ExerciseBase,
        checks=(list[check], Field(description="The checks; each has a `kind` that picks its fields.")),  # type: ignore[valid-type]
    )


def _node_at(node: yaml.Node | None, path: tuple[Any, ...]) -> yaml.Node | None:
    """The deepest YAML node along a field path (for its line number)."""
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
            if match is None:
                # the key is missing or unknown: point at the key itself if present, else the mapping
                key_node = next((k for k, _ in node.value if getattr(k, "value", None) == str(key)), None)
                return key_node or node
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return node
    return node


def _line(root: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    node = _node_at(root, path)
    return node.start_mark.line + 1 if node is not None else None


def _clean_path(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Drop the union tags pydantic puts in paths (`checks.2.compare.rtol` -> `checks.2.rtol`)."""
    cleaned: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and isinstance(part, str) and node.get("kind") == part:
            continue
        if isinstance(part, str) and "[" in part:  # function-after validators etc. name themselves
            continue
        cleaned.append(part)
        node = node.get(part) if isinstance(node, dict) else (node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None)
    return tuple(cleaned)


def format_path(path: tuple[Any, ...]) -> str:
    """`('checks', 2, 'rtol')` -> `checks[2].rtol`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: dict[str, Any], data: Any, path: tuple[Any, ...], kinds: dict[str, CheckKind]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = data
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else (parent[part] if isinstance(parent, list) else None)
        valid = sorted(_fields_for(parent, path, kinds))
        close = difflib.get_close_matches(str(path[-1]), valid, n=1)
        suggestion = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown field {path[-1]!r}{suggestion}; valid fields: {', '.join(valid)}" if valid else f"unknown field {path[-1]!r}"
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        expected = error.get("ctx", {}).get("expected_tags", "")
        options = [t.strip(" '") for t in expected.split(",")]
        close = difflib.get_close_matches(str(tag), options, n=1)
        suggestion = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown kind {tag!r}{suggestion}; valid kinds: {', '.join(options)}"
    if kind == "union_tag_not_found":
        return f"missing `kind`; valid kinds: {error.get('ctx', {}).get('discriminator', '')}".replace("'kind'", ", ".join(sorted(kinds)) if path and path[0] == "checks" else "tensor, function, graph, value")
    if kind == "missing":
        return "required field is missing"
    return str(error["msg"]).removeprefix("Value error, ")


def _fields_for(parent: Any, path: tuple[Any, ...], kinds: dict[str, CheckKind]) -> set[str]:
    from grader.spec import models

    if not isinstance(parent, dict):
        return set()
    if len(path) >= 3 and path[0] == "checks" and parent.get("kind") in kinds:
        return set(kinds[parent["kind"]].model.model_fields)
    if len(path) >= 3 and path[0] == "inputs":
        by_kind = {"tensor": models.TensorInput, "function": models.FunctionInput, "graph": models.GraphInput, "value": models.ValueInput}
        model = by_kind.get(parent.get("kind"))
        return set(model.model_fields) if model else set()
    if len(path) >= 3 and path[0] == "calls":
        return set(models.CallSet.model_fields)
    if len(path) >= 3 and path[0] == "functions":
        return set(models.FunctionSpec.model_fields)
    if len(path) == 1:
        return set(ExerciseBase.model_fields)
    return set()


def load_exercise(path: Path, kinds: dict[str, CheckKind] | None = None,
                  references: ReferenceLoader | None = None) -> LoadedExercise:
    """Load and validate one exercise YAML file; with `references`, also import its reference code there and check it.

    Reference code runs in a trusted worker of its own (`references`), not in this process; without
    one, only the file's existence is checked here, and grading imports it when first needed.
    """
    kinds = available_kinds() if kinds is None else kinds
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([SpecIssue(path, None, "", f"cannot read the file: {exc}")]) from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SpecError([SpecIssue(path, mark.line + 1 if mark else None, "", f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(data, dict):
        raise SpecError([SpecIssue(path, 1, "", "an exercise spec must be a YAML mapping (id:, title:, checks: ...)")])
    try:
        spec = exercise_model(kinds).model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors():
            loc = _clean_path(tuple(error["loc"]), data)
            issues.append(SpecIssue(path, _line(root, loc), format_path(loc), _describe(error, data, loc, kinds)))
        # Names that point nowhere are errors too: report them now, not after the fields are fixed.
        reported = {issue.path for issue in issues}
        check = TypeAdapter(exercise_model(kinds).model_fields["checks"].annotation.__args__[0])
        for loc, message in ExerciseBase.partial(data, check).dangling_references():
            if format_path(loc) not in reported:
                issues.append(SpecIssue(path, _line(root, loc), format_path(loc), message))
        raise SpecError(sorted(issues, key=lambda i: (i.line or 0, i.path))) from None
    issues = [SpecIssue(path, _line(root, loc), format_path(loc), message) for loc, message in spec.dangling_references()]
    reference_path = None
    if spec.reference is not None and any(c.reference_names() for c in spec.checks):
        reference_path = (path.parent / spec.reference).resolve()
        if not reference_path.is_file():
            issues.append(SpecIssue(path, _line(root, ("reference",)), "reference", f"no such file: {reference_path}"))
        elif references is not None:
            issues.extend(_reference_issues(spec, path, root, reference_path, references))
    if issues:
        raise SpecError(issues)
    return LoadedExercise(spec, path, reference_path)


def _reference_issues(spec: ExerciseBase, path: Path, root: yaml.Node | None, reference_path: Path,
                      references: ReferenceLoader) -> list[SpecIssue]:
    """What is wrong with an exercise's reference code, found by importing it in the trusted worker."""
    key = str(reference_path)
    try:
        reply = references.load({key: reference_path})
    except Exception as exc:  # noqa: BLE001 - the worker could not be reached: say so as the spec's problem
        return [SpecIssue(reference_path, None, "", f"could not be imported: {exc}")]
    error = (reply.get("errors") or {}).get(key)
    if error:
        return [SpecIssue(reference_path, error.get("line"), "", f"importing it raised {error.get('type')}: {error.get('message')}")]
    defined = set((reply.get("functions") or {}).get(key, []))
    return [SpecIssue(path, _line(root, ("checks", i)), f"checks[{i}]", f"reference.py defines no function {name!r}")
            for i, check in enumerate(spec.checks) for name in check.reference_names() if name not in defined]


def spec_files(directory: Path) -> list[Path]:
    """The exercise YAML files of a directory: `*/exercise.yaml` and `*.yaml` directly in it."""
    found = sorted(directory.glob(f"*/{SPEC_FILE}")) + sorted(p for p in directory.glob("*.yaml") if p.is_file())
    return found


def load_exercises(directory: Path, kinds: dict[str, CheckKind] | None = None,
                   references: ReferenceLoader | None = None) -> list[LoadedExercise]:
    """Every exercise of a directory, in their declared order; all problems of all files at once."""
    if not directory.is_dir():
        raise SpecError([SpecIssue(directory, None, "", "not a directory of exercise specs")])
    files = spec_files(directory)
    if not files:
        raise SpecError([SpecIssue(directory, None, "", f"no exercise specs found (expected */{SPEC_FILE} or *.yaml)")])
    loaded, issues = [], []
    for path in files:
        try:
            loaded.append(load_exercise(path, kinds, references))
        except SpecError as exc:
            issues.extend(exc.issues)
    seen: dict[str, Path] = {}
    for exercise in loaded:
        if exercise.spec.id in seen:
            issues.append(SpecIssue(exercise.path, None, "id", f"{exercise.spec.id!r} is also the id of {seen[exercise.spec.id]}"))
        seen[exercise.spec.id] = exercise.path
    if issues:
        raise SpecError(issues)
    return sorted(loaded, key=lambda e: (e.spec.order, e.spec.id))


def builtin_exercises_dir() -> Path:
    """The built-in exercises: inside the installed package, or the repository's `exercises/`."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_exercises"
    return installed if installed.is_dir() else package.parent / "exercises"
