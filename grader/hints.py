"""Hints recognised from what went wrong: an exception's type and message, or a line Python cannot read.

Each hint names the fix in the student's terms. Hints are feedback only: nothing here sees or
changes a status or a score. Hints recognised from observations (a gradient that doubled on a
repeated call, autograd that never ran) live with the check that makes the observation.
"""

from __future__ import annotations

import re

from grader.i18n import Msg, Text, msg
from grader.observations import ExceptionReport

CURLY_QUOTES = "‘’“”"
"""Typographic quotes that web pages and word processors put where code has ' and "."""
FULL_WIDTH = "（）［］｛｝，：；。＝＋－＊／＜＞！＂＇"
"""Punctuation a Chinese input method types in place of ASCII ( ) [ ] { } , : ; . = + - * / < > ! " '."""
INVISIBLE_SPACES = "\u00a0\u2002\u2003\u2009\u200b\u3000\ufeff"
"""Spaces that look like ' ' but are not (pasted from web pages, or typed by an input method)."""

# Modules students use under a conventional short name: `np` is NameError until `import numpy as np`.
_USUAL_IMPORTS = {
    "torch": "import torch", "np": "import numpy as np", "numpy": "import numpy as np",
    "plt": "import matplotlib.pyplot as plt", "math": "import math", "nn": "from torch import nn",
    "F": "import torch.nn.functional as F", "matplotlib": "import matplotlib",
}

# (exception type, pattern in the message, message key), in order of precedence.
_EXCEPTION_HINTS: list[tuple[str, re.Pattern[str], str]] = [
    ("RuntimeError", re.compile(r"Can't call numpy\(\) on Tensor that requires grad"), "requires_grad_numpy_hint"),
    ("RuntimeError", re.compile(r"grad can be implicitly created only for (real )?scalar outputs"), "nonscalar_backward_hint"),
    ("RuntimeError", re.compile(r"backward through the graph a second time|saved tensors .* freed"), "backward_twice_hint"),
    ("RuntimeError", re.compile(r"does not require grad and does not have a grad_fn"), "no_grad_hint"),
    ("RuntimeError", re.compile(r"leaf Variable that requires grad is being used in an in-place operation"), "inplace_leaf_hint"),
    ("RuntimeError", re.compile(r"appears to not have been used in the graph"), "unused_input_hint"),
    ("RuntimeError", re.compile(r"only Tensors of floating point( and complex)? dtype can require gradients"), "integer_requires_grad_hint"),
    ("RuntimeError", re.compile(r"Boolean value of Tensor with more than one (value|element) is ambiguous"), "ambiguous_condition_hint"),
    ("RuntimeError", re.compile(r"same dtype|expected scalar type|but found (Double|Float)|float != double|double != float"), "mixed_dtype_hint"),
    ("AttributeError", re.compile(r"'NoneType' object has no attribute '(next_functions|name)'"), "grad_fn_none_hint"),
    ("AttributeError", re.compile(r"'NoneType' object has no attribute 'zero_'"), "zero_before_backward_hint"),
    ("RecursionError", re.compile(r"maximum recursion depth"), "recursion_hint"),
]

# A None where a tensor was needed: which None it was is read from the line that failed.
_NONE_USED = [
    ("AttributeError", re.compile(r"'NoneType' object has no attribute '(\w+)'")),
    ("TypeError", re.compile(r"unsupported operand type\(s\) for .*NoneType|'NoneType' object is not subscriptable()")),
]
# `x.grad` read as a value (not `x.grad_fn`, not `x.grad.zero_()` handled above).
_GRAD_READ = re.compile(r"\.grad\b(?!_)")


def exception_hint(exc: ExceptionReport) -> Msg | None:
    """The hint for a known mistake behind this exception, or None."""
    if exc.type in ("ModuleNotFoundError", "ImportError"):
        match = re.search(r"No module named '([^']+)'", exc.message)
        if match:
            return msg("module_not_found_hint", module=match.group(1).split(".")[0])
    if exc.type == "SystemExit":
        return msg("exit_in_call_hint")
    if exc.type == "NotImplementedError":
        return msg("stub_hint")
    if exc.type == "NameError":
        match = re.search(r"name '([^']+)' is not defined", exc.message)
        if match and match.group(1) in _USUAL_IMPORTS:
            return msg("missing_import_hint", name=match.group(1), statement=_USUAL_IMPORTS[match.group(1)])
    for type_name, pattern, key in _EXCEPTION_HINTS:
        if exc.type == type_name and pattern.search(exc.message):
            return msg(key)
    return _none_hint(exc)


def _none_hint(exc: ExceptionReport) -> Msg | None:
    """Which None the failing line used: a `.grad` that backward() never filled, or a function's missing return.

    Without the line there is no evidence of either, and no hint.
    """
    for type_name, pattern in _NONE_USED:
        match = pattern.search(exc.message) if exc.type == type_name else None
        if match is None:
            continue
        line = exc.frames[-1].text if exc.frames else ""
        if _GRAD_READ.search(line):
            return msg("grad_none_hint")
        attribute = match.group(1)
        called = re.search(r"([A-Za-z_][\w.]*)\([^()]*\)\s*\." + re.escape(attribute) + r"\b", line) if attribute else None
        if called:
            return msg("none_returned_hint", function=called.group(1), attribute=attribute)
        return None
    return None


def syntax_hint(source_line: str, where: Text, message: str = "") -> Msg | None:
    """The hint for a line Python cannot read: pasted quotes, full-width punctuation, odd spaces, tabs.

    `where` names the line (`line 4`, `cell 2, line 1`), as a message.
    """
    curly = sorted(set(source_line) & set(CURLY_QUOTES))
    if curly:
        return msg("curly_quotes_hint", where=where, chars=" ".join(curly))
    wide = sorted(set(source_line) & set(FULL_WIDTH))
    if wide:
        return msg("full_width_hint", where=where, chars=" ".join(wide))
    if set(source_line) & set(INVISIBLE_SPACES):
        return msg("invisible_space_hint", where=where)
    if "inconsistent use of tabs and spaces" in message:
        return msg("tabs_hint", where=where)
    return None
