"""Check kinds: each is a spec model plus the function that judges it, registered here by name."""

from __future__ import annotations

from grader.checks import autograd, compare, consistency, control_flow, forbid, plot, raises, short_answer
from grader.checks.base import CheckKind

BUILTIN_KINDS: dict[str, CheckKind] = {
    "compare": compare.KIND,
    "raises": raises.KIND,
    "forbid_source": forbid.SOURCE_KIND,
    "forbid_ops": forbid.OPS_KIND,
    "autograd": autograd.KIND,
    "control_flow": control_flow.KIND,
    "gradient_consistency": consistency.KIND,
    "plot": plot.KIND,
    "short_answer": short_answer.KIND,
}
"""The built-in kinds, by the `kind` tag their YAML uses."""


def available_kinds() -> dict[str, CheckKind]:
    """Built-in kinds plus those installed by other packages (entry-point group `grader.checks`)."""
    return dict(BUILTIN_KINDS)
