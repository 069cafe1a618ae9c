"""`forbid_source` and `forbid_ops`: names that must not appear in the code, calls that must not happen."""

from __future__ import annotations

import ast
from typing import Annotated, Literal

from pydantic import Field

from grader.checks.base import CheckContext, CheckKind, Verdict, function_names, unimplemented
from grader.i18n import msg
from grader.spec.models import IDENT, CheckBase, ExerciseBase, did_you_mean


class ForbidSourceCheck(CheckBase):
    """The submission's source must not mention some names (read statically, never run)."""

    kind: Literal["forbid_source"]
    names: Annotated[list[Annotated[str, Field(pattern=IDENT)]], Field(min_length=1)]
    """Identifiers that must not appear: as a name, an attribute (`torch.cos`), an import, or a string given to getattr."""
    functions: list[Annotated[str, Field(pattern=IDENT)]] | None = None
    """Only look inside these functions, each declared under `functions` (default: the whole file)."""

    def absence(self) -> bool:
        """A name that must not appear."""
        return True

    def answer_call_sets(self, exercise: ExerciseBase) -> list[str]:
        """The call sets of the functions searched (all of the exercise's when the whole file is)."""
        scope = set(self.functions) if self.functions else set(exercise.functions)
        return [name for name, call in exercise.calls.items() if call is not None and call.function in scope]

    def problems_in(self, exercise: ExerciseBase) -> list[tuple[tuple[str | int, ...], str]]:
        """Every function searched must be one the exercise declares: a misspelt one would be searched for nothing."""
        declared = ", ".join(sorted(exercise.functions)) or "none"
        return [(("functions", i), f"{name!r} is not declared under `functions`{did_you_mean(name, exercise.functions)} "
                                   f"(declared: {declared})")
                for i, name in enumerate(self.functions or []) if name not in exercise.functions]


class ForbidOpsCheck(CheckBase):
    """Some functions must not be called while the student's functions run (observed at run time)."""

    kind: Literal["forbid_ops"]
    calls: Annotated[list[Annotated[str, Field(pattern=IDENT)]], Field(min_length=1)]
    """The call sets during which the operations are forbidden."""
    ops: Annotated[list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*\.[A-Za-z_][A-Za-z0-9_]*$")]], Field(min_length=1)]
    """Qualified names, each resolved when the spec is validated: torch functions and methods as torch names them (`torch.cos`, `torch.Tensor.cos`, `torch.autograd.grad`, `torch.func.jvp`), others by module (`numpy.cos`, `math.cos`)."""

    def watched(self) -> list[str]:
        """What the child must watch for."""
        return list(self.ops)

    def absence(self) -> bool:
        """Calls that must not happen."""
        return True


def dotted(node: ast.Attribute, limit: int = 4) -> str:
    """`torch.cos` for an attribute chain, its last `limit` parts at most (walked, not recursed: chains may be
    hundreds deep, where `ast.unparse` would exhaust the stack)."""
    parts: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute) and len(parts) <= limit:
        parts.append(current.attr)
        current = current.value
    if len(parts) > limit:
        return "…." + ".".join(reversed(parts[:limit]))
    head = current.id if isinstance(current, ast.Name) else "(…)"
    return ".".join([head, *reversed(parts)])


def _uses(tree: ast.AST, names: set[str]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in names:
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute) and node.attr in names:
            found.append((node.lineno, dotted(node)))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name.split(".")[-1] in names or (alias.asname or "") in names:
                    found.append((node.lineno, alias.name))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and node.args[1].value in names):
            found.append((node.lineno, f"getattr(..., {node.args[1].value!r})"))
    return sorted(set(found))


def judge_forbid_source(check: ForbidSourceCheck, ctx: CheckContext) -> Verdict:
    """Fail at the first line that uses a forbidden name; no points for an exercise left undone."""
    # A file of stubs mentions nothing forbidden, but has not done the exercise either.
    undone = ctx.nothing_defined() or unimplemented(ctx, list(ctx.exercise.calls))
    if undone:
        return undone
    tree = ctx.submission.tree
    scopes: list[ast.AST] = [tree]
    if check.functions:
        scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in check.functions]
    found = sorted({use for scope in scopes for use in _uses(scope, set(check.names))})
    if not found:
        return Verdict("passed", msg("forbid_source_ok", names=list(check.names)))
    line, name = found[0]
    more = msg("more_places", n=len(found) - 1) if len(found) > 1 else ""
    return Verdict("failed", msg("forbid_source_found", name=name, where=ctx.where(line), more=more),
                   line=line, details={"lines": [l for l, _ in found]})


def judge_forbid_ops(check: ForbidOpsCheck, ctx: CheckContext) -> Verdict:
    """Fail when any call of the call sets called a forbidden operation (whether it returned or raised)."""
    missing = ctx.missing_function(*check.calls)
    if missing:
        return missing
    functions = function_names(ctx, check.calls)
    forbidden = set(check.ops)
    seen: dict[str, int] = {}
    callers: list[str] = []  # the functions whose calls made a forbidden call, in the order of the call sets
    observed = 0
    for call_set in check.calls:
        for view in ctx.calls(call_set):
            events = view.report.events if view.report else None
            if events is None:
                continue
            observed += 1
            found = False
            for name in forbidden:
                # Seen by the dispatcher (`ops`) or counted where the child wraps it (`watched`).
                count = events.watched.get(name, 0)
                count = max(1, count) if name in events.ops else count
                if count:
                    seen[name] = seen.get(name, 0) + count
                    found = True
            if found and ctx.function_of(call_set) not in callers:
                callers.append(ctx.function_of(call_set))
    if observed == 0:
        return Verdict("error", msg("no_observation", functions=functions))
    if seen:
        # Name only the functions that made the forbidden calls, and point at the first of them.
        return Verdict("failed", msg("forbid_ops_found", functions=callers, found=sorted(seen)),
                       line=ctx.function_line(callers[0]), details={"found": sorted(seen)})
    return Verdict("passed", msg("forbid_ops_ok", functions=functions, names=list(check.ops)))


SOURCE_KIND = CheckKind(ForbidSourceCheck, judge_forbid_source)
OPS_KIND = CheckKind(ForbidOpsCheck, judge_forbid_ops)
