"""Child side: what a student function returned or raised, as plain data.

Only exact built-in types are encoded as values; anything else (a Tensor subclass, an object
with a clever `__eq__`) travels as its class name, so it can never compare equal to anything.
"""

from __future__ import annotations

import math
import traceback
from typing import Any

import numpy as np

from grader.wire import MAX_ARRAY_ELEMENTS, WIRE_DTYPES, encode_array

MAX_DEPTH = 4
MAX_ITEMS = 64
MAX_NODES = 4096
"""Values in one returned value, all levels together: 64 lists of 64 lists of 64 stays a description."""
MAX_TEXT = 4000


def _text(value: str, limit: int = MAX_TEXT) -> str:
    return value if len(value) <= limit else value[:limit] + f"... [{len(value) - limit} more characters]"


def _class_name(value: Any) -> str:
    cls = type(value)
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"


def _float(value: float) -> Any:
    return value if math.isfinite(value) else repr(value)  # 'nan', 'inf', '-inf': JSON has no NaN


def encode_value(value: Any, depth: int = 0, budget: list[int] | None = None) -> dict[str, Any]:
    """Plain data for a returned value; unknown or oversized values are described, not sent."""
    import torch

    budget = budget if budget is not None else [MAX_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        return {"t": "too_large", "what": f"more than {MAX_NODES} values in all"}

    kind = type(value)
    if kind is torch.Tensor or kind is torch.nn.Parameter:
        dtype = str(value.dtype).removeprefix("torch.")
        base = {"shape": list(value.shape), "dtype": dtype, "requires_grad": bool(value.requires_grad)}
        if dtype not in WIRE_DTYPES or value.is_sparse or value.device.type != "cpu":
            return {"t": "object", "cls": f"torch.Tensor ({dtype}, {value.layout}, {value.device})"}
        if value.numel() > MAX_ARRAY_ELEMENTS:
            return {"t": "too_large", "what": f"tensor of shape {list(value.shape)}"}
        data = value.detach()
        if dtype == "bfloat16":
            data = data.float()
        encoded = encode_array(data.resolve_conj().resolve_neg().contiguous().numpy(), dtype)
        return {"t": "tensor", **base, "data": encoded["data"]}
    if kind is np.ndarray:
        dtype = str(value.dtype)
        if dtype not in WIRE_DTYPES:
            return {"t": "object", "cls": f"numpy.ndarray ({dtype})"}
        if value.size > MAX_ARRAY_ELEMENTS:
            return {"t": "too_large", "what": f"array of shape {list(value.shape)}"}
        return {"t": "ndarray", **encode_array(value, dtype)}
    if value is None:
        return {"t": "none"}
    if kind is bool:
        return {"t": "bool", "v": value}
    if kind is int:
        return {"t": "int", "v": value} if abs(value) < 2**63 else {"t": "too_large", "what": "int beyond 64 bits"}
    if kind is float:
        return {"t": "float", "v": _float(value)}
    if kind in (np.float64, np.float32, np.float16):
        return {"t": "float", "v": _float(float(value)), "numpy": str(np.dtype(kind))}
    if kind in (np.int64, np.int32, np.bool_):
        return {"t": "int" if kind is not np.bool_ else "bool", "v": int(value) if kind is not np.bool_ else bool(value), "numpy": str(np.dtype(kind))}
    if kind is str:
        return {"t": "str", "v": _text(value)}
    if kind in (tuple, list):
        if depth >= MAX_DEPTH:
            return {"t": "too_large", "what": "nesting deeper than 4 levels"}
        if len(value) > MAX_ITEMS:
            return {"t": "too_large", "what": f"{kind.__name__} of {len(value)} items"}
        if len(value) > budget[0]:
            return {"t": "too_large", "what": f"more than {MAX_NODES} values in all"}
        return {"t": kind.__name__, "items": [encode_value(v, depth + 1, budget) for v in value]}
    return {"t": "object", "cls": _text(_class_name(value), 200)}


def safe_str(value: Any, limit: int = MAX_TEXT) -> str:
    """str(value), never raising, capped in length."""
    try:
        return _text(str(value), limit)
    except BaseException:  # noqa: BLE001 - a student's __str__ may raise anything
        return f"<{_class_name(value)} whose str() failed>"


def exception_info(exc: BaseException, submission_path: str) -> dict[str, Any]:
    """Type, message and the student's frames of an exception (innermost last)."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if f.filename == submission_path]
    if isinstance(exc, SyntaxError) and exc.filename == submission_path and exc.lineno:
        own.append(traceback.FrameSummary(submission_path, exc.lineno, "<module>", line=exc.text or ""))
    return {
        "type": _text(type(exc).__name__, 200),
        "module": _text(str(type(exc).__module__), 200),
        "message": safe_str(exc),
        # Raised by the student's own `raise`, or by a library (torch) on the student's behalf.
        "origin": "submission" if frames and frames[-1].filename == submission_path else "library",
        "frames": [
            {"line": f.lineno or 0, "function": _text(f.name, 200), "text": _text((f.line or "").strip(), 300)}
            for f in own[-20:]
        ],
    }
