"""Hints recognised from what went wrong: an exception's type and message name the usual fix."""

from __future__ import annotations

import re

from grader.i18n import Lang
from grader.messages import tr
from grader.observations import ExceptionReport

# (exception type or None for any, pattern in the message, message key) in order of precedence.
_EXCEPTION_HINTS: list[tuple[str | None, re.Pattern[str], str]] = [
    ("RuntimeError", re.compile(r"Can't call numpy\(\) on Tensor that requires grad"), "requires_grad_numpy_hint"),
    ("RuntimeError", re.compile(r"grad can be implicitly created only for scalar outputs"), "nonscalar_backward_hint"),
    ("RuntimeError", re.compile(r"backward through the graph a second time|saved tensors .* freed"), "backward_twice_hint"),
    ("RuntimeError", re.compile(r"does not require grad and does not have a grad_fn"), "no_grad_hint"),
    ("AttributeError", re.compile(r"'NoneType' object has no attribute"), "grad_none_hint"),
    ("TypeError", re.compile(r"unsupported operand type\(s\) for .*NoneType"), "grad_none_hint"),
]


def exception_hint(lang: Lang, exc: ExceptionReport) -> str | None:
    """The hint for a known mistake behind this exception, or None."""
    if exc.type in ("ModuleNotFoundError", "ImportError"):
        match = re.search(r"No module named '([^']+)'", exc.message)
        if match:
            return tr(lang, "module_not_found_hint", module=match.group(1).split(".")[0])
    if exc.type == "SystemExit":
        return tr(lang, "exit_in_call_hint")
    for type_name, pattern, key in _EXCEPTION_HINTS:
        if (type_name is None or exc.type == type_name) and pattern.search(exc.message):
            return tr(lang, key)
    return None
