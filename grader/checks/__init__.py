"""Check kinds: each is a spec model plus the function that judges it, registered here by name.

Built-in kinds are listed in `BUILTIN_KINDS`. Other packages add kinds through the entry-point
group `grader.checks`: each entry point is named after the kind's YAML tag and loads a `CheckKind`.
"""

from __future__ import annotations

import typing
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from grader.checks import autograd, compare, consistency, control_flow, forbid, plot, provenance, raises, short_answer
from grader.checks.base import CheckKind
from grader.spec.models import CheckBase

ENTRY_POINT_GROUP = "grader.checks"
"""The entry-point group through which installed packages contribute check kinds."""

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
    "returns_gradient": provenance.KIND,
}
"""The built-in kinds, by the `kind` tag their YAML uses."""


class PluginError(Exception):
    """An installed check-kind plugin cannot be used; the message names it and says what to do."""


def _origin(entry: EntryPoint) -> str:
    dist = getattr(entry, "dist", None)
    package = f" from package {dist.metadata['Name']!r}" if dist is not None else ""
    return f"check-kind plugin {entry.name!r} ({entry.value}{package}, entry-point group {ENTRY_POINT_GROUP!r})"


def _kind_tag(model: type[CheckBase]) -> str | None:
    """The single string of the model's `kind: Literal[...]` field, or None when it has no such tag."""
    field = model.model_fields.get("kind")
    if field is None or typing.get_origin(field.annotation) is not typing.Literal:
        return None
    tags = typing.get_args(field.annotation)
    return tags[0] if len(tags) == 1 and isinstance(tags[0], str) else None


def load_plugin(entry: EntryPoint) -> CheckKind:
    """Load one entry point and make sure it is a usable kind named after its tag."""
    fix = "fix or uninstall that package"
    try:
        kind = entry.load()
    except Exception as exc:  # noqa: BLE001 - any failure of third-party code is reported, not raised
        raise PluginError(f"{_origin(entry)} could not be loaded: {type(exc).__name__}: {exc}; {fix}.") from None
    if not isinstance(kind, CheckKind):
        raise PluginError(f"{_origin(entry)} is a {type(kind).__name__}, not a grader.checks.base.CheckKind; {fix}.")
    if not (isinstance(kind.model, type) and issubclass(kind.model, CheckBase)) or not callable(kind.judge):
        raise PluginError(f"{_origin(entry)}: its model must subclass grader.spec.models.CheckBase and its "
                          f"judge must be a function; {fix}.")
    tag = _kind_tag(kind.model)
    if tag != entry.name:
        found = f"Literal[{tag!r}]" if tag else "no single-string Literal"
        raise PluginError(f"{_origin(entry)}: its model's `kind` field must be Literal[{entry.name!r}] "
                          f"(the entry point's name), but it is {found}; {fix}.")
    if entry.name in BUILTIN_KINDS:
        raise PluginError(f"{_origin(entry)} uses the name of a built-in kind; rename the plugin's kind.")
    return kind


@lru_cache(maxsize=1)
def plugin_kinds() -> dict[str, CheckKind]:
    """The kinds installed packages contribute (loaded once per process); PluginError if one is broken."""
    found: dict[str, CheckKind] = {}
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if entry.name in found:
            raise PluginError(f"{_origin(entry)}: two installed packages provide the kind {entry.name!r}; "
                              "uninstall one of them.")
        found[entry.name] = load_plugin(entry)
    return found


def available_kinds() -> dict[str, CheckKind]:
    """Built-in kinds plus those installed by other packages (entry-point group `grader.checks`)."""
    return {**BUILTIN_KINDS, **plugin_kinds()}
