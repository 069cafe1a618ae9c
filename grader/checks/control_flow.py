"""`control_flow`: a function's control flow depends on its input, and the inputs exercise several paths."""

from __future__ import annotations

import ast
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from grader.checks.base import CheckContext, CheckKind, Verdict
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


def _function_node(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def _unreached(node: ast.FunctionDef | ast.AsyncFunctionDef, executed: set[int]) -> list[int]:
    """Lines of statements inside the function that no call executed."""
    return sorted({s.lineno for s in ast.walk(node) if isinstance(s, ast.stmt) and s is not node and s.lineno not in executed})


def judge_control_flow(check: ControlFlowCheck, ctx: CheckContext) -> Verdict:
    """Count the distinct paths taken; point at branches never reached."""
    missing = ctx.missing_function(check.calls)
    if missing:
        return missing
    function = ctx.function_of(check.calls)
    line = ctx.function_line(function)
    node = _function_node(ctx.submission.tree, function)
    if node is not None and not any(isinstance(n, BRANCHING) for n in ast.walk(node)):
        return Verdict("failed", ctx.tr("no_branching", function=function), hint=ctx.tr("paths_hint"), line=line)
    paths = set()
    executed: set[int] = set()
    traced = 0
    for view in ctx.calls(check.calls):
        events = view.report.events if view.report else None
        if events is None or events.arcs is None:
            continue
        traced += 1
        paths.add(frozenset(events.arcs))
        executed.update(to for _, _, to in events.arcs if to > 0)
    if traced == 0:
        return Verdict("error", ctx.tr("no_observation", functions=function))
    details = {"paths": len(paths), "calls": traced}
    if len(paths) >= check.min_paths:
        return Verdict("passed", ctx.tr("paths_ok", function=function, paths=len(paths), n=traced), details=details)
    unreached = _unreached(node, executed) if node is not None else []
    # Plain numbers in a file; in a notebook each line needs its cell, which has commas of its own.
    listed = "; ".join(ctx.where(n) for n in unreached) if ctx.submission.cells is not None else ", ".join(map(str, unreached))
    unreached_text = ctx.tr("unreached_lines", lines=listed) if unreached else ""
    return Verdict("failed", ctx.tr("paths_too_few", function=function, paths=len(paths), n=traced,
                                    need=check.min_paths, unreached=unreached_text),
                   hint=ctx.tr("paths_hint"), line=unreached[0] if unreached else line, details=details)


KIND = CheckKind(ControlFlowCheck, judge_control_flow)
