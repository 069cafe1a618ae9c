"""`control_flow`: a function's control flow depends on its input, and the inputs exercise several paths."""

from __future__ import annotations

import ast
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from grader.checks.base import CheckContext, CheckKind, Verdict
from grader.i18n import Text, msg
from grader.spec.models import IDENT, CheckBase

BRANCHING = (ast.If, ast.While, ast.For, ast.AsyncFor, ast.IfExp, ast.Match)


class ControlFlowCheck(CheckBase):
    """Over the call set's inputs, the student's code must take at least `min_paths` different paths.

    A path is the set of line-to-line steps the submission's own code made during a call (its
    branch coverage), so a different branch of an `if`, or a `while` that runs a different number
    of times, is a different path.
    """

    captures: ClassVar[frozenset[str]] = frozenset({"arcs"})
    kind: Literal["control_flow"]
    calls: str = Field(pattern=IDENT)
    """The call set whose calls are traced."""
    min_paths: Annotated[int, Field(ge=1)] = 2
    """The fewest distinct paths the calls must take together."""


FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def _module_functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions defined at module level (the last definition of a name wins, as when the file runs)."""
    found: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = node
    return found


def _module_lambdas(tree: ast.Module) -> dict[str, ast.Lambda]:
    """Lambdas bound to a name at module level (`h = lambda x: ...`)."""
    return {target.id: node.value for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda)
            for target in node.targets if isinstance(target, ast.Name)}


def reached_functions(tree: ast.Module, name: str) -> list[FunctionNode]:
    """The function `name` and every function of the submission it can reach by name: helpers, their helpers, lambdas.

    Nested functions and lambdas are inside their parent's node already; module-level functions
    and lambdas are followed wherever a reached function mentions their name (a call, or a
    function passed along), so a `g` that returns `helper(x)` reaches the `if` inside `helper`.
    """
    named: dict[str, FunctionNode] = {**_module_lambdas(tree), **_module_functions(tree)}
    start = named.get(name)
    if start is None:
        return []
    reached: list[FunctionNode] = [start]
    seen = {name}
    position = 0
    while position < len(reached):
        for node in ast.walk(reached[position]):
            if isinstance(node, ast.Name) and node.id in named and node.id not in seen:
                seen.add(node.id)
                reached.append(named[node.id])
        position += 1
    return reached


def _unreached(nodes: list[FunctionNode], executed: set[int]) -> list[int]:
    """Lines of statements inside the functions that no call executed."""
    return sorted({s.lineno for node in nodes for s in ast.walk(node)
                   if isinstance(s, ast.stmt) and s is not node and s.lineno not in executed})


def judge_control_flow(check: ControlFlowCheck, ctx: CheckContext) -> Verdict:
    """Count the distinct paths taken; point at branches never reached."""
    missing = ctx.missing_function(check.calls)
    if missing:
        return missing
    function = ctx.function_of(check.calls)
    line = ctx.function_line(function)
    nodes = reached_functions(ctx.submission.tree, function)
    if nodes and not any(isinstance(n, BRANCHING) for node in nodes for n in ast.walk(node)):
        return Verdict("failed", msg("no_branching", function=function), hint=msg("paths_hint"), line=line)
    paths = set()
    computations: dict[frozenset[tuple[int, int, int]], set[str | None]] = {}
    executed: set[int] = set()
    traced = 0
    for view in ctx.calls(check.calls):
        events = view.report.events if view.report else None
        if events is None or events.arcs is None:
            continue
        traced += 1
        path = frozenset(events.arcs)
        paths.add(path)
        computations.setdefault(path, set()).add(view.report.graph_signature if view.report else None)
        executed.update(to for _, _, to in events.arcs if to > 0)
    if traced == 0:
        return Verdict("error", msg("no_observation", functions=function))
    # A path counts only if it changes the computation: its autograd graph (operations and the
    # constants they saved) differs. `if x > 0: pass`, or two branches doing the same, do not.
    signatures = {sig for found in computations.values() for sig in found}
    distinct = len(signatures) if None not in signatures else len(paths)
    details = {"paths": len(paths), "computations": min(distinct, len(paths)), "calls": traced}
    if len(paths) >= check.min_paths and distinct < check.min_paths:
        return Verdict("failed", msg("paths_same_computation", function=function, paths=len(paths), n=traced),
                       hint=msg("same_computation_hint"), line=line, details=details)
    if len(paths) >= check.min_paths:
        return Verdict("passed", msg("paths_ok", function=function, paths=len(paths), n=traced), details=details)
    unreached = _unreached(nodes, executed)
    # Plain numbers in a file; in a notebook each line needs its cell, which has commas of its own.
    unreached_text: Text = ""
    if unreached and ctx.submission.cells is not None:
        unreached_text = msg("unreached_cells", lines=[ctx.where(n) for n in unreached])
    elif unreached:
        unreached_text = msg("unreached_lines", lines=unreached)
    return Verdict("failed", msg("paths_too_few", function=function, paths=len(paths), n=traced,
                                 need=check.min_paths, unreached=unreached_text),
                   hint=msg("paths_hint"), line=unreached[0] if unreached else line, details=details)


KIND = CheckKind(ControlFlowCheck, judge_control_flow)
