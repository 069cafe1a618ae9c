"""Arguments: the torch objects (tensors, functions, graphs) built from their plain-data form.

Both sides use this: the child to call the student's function, the grader to call the reference
on exactly the same values.
"""

from __future__ import annotations

import builtins
import math
from typing import TYPE_CHECKING, Any, Callable

from grader.wire import decode_array

if TYPE_CHECKING:
    from grader.i18n import Msg

# Spec expressions are the instructor's (trusted), but they only need arithmetic helpers.
_SAFE_BUILTINS = {n: getattr(builtins, n) for n in ("abs", "min", "max", "float", "int", "len", "range", "sum", "tuple", "list")}


def _namespace() -> dict[str, Any]:
    import torch

    return {"torch": torch, "math": math, "__builtins__": _SAFE_BUILTINS}


def _tensor(encoded: dict[str, Any]) -> Any:
    import torch

    array = decode_array(encoded)
    dtype = getattr(torch, encoded["dtype"])
    return torch.from_numpy(array).to(dtype)


def make_function(expr: str) -> Callable[[Any], Any]:
    """The elementwise function `lambda x: <expr>`."""
    code = compile(expr, "<exercise spec>", "eval")
    namespace = _namespace()

    def function(x: Any) -> Any:
        return eval(code, namespace, {"x": x})

    function.__name__ = function.__qualname__ = "f"
    function.__doc__ = f"f(x) = {expr}"
    return function


def build_argument(wire: dict[str, Any]) -> Any:
    """The torch object (tensor, function or value) an argument stands for, freshly built."""
    kind = wire["kind"]
    if kind == "tensor":
        tensor = _tensor(wire["array"])
        return tensor.requires_grad_(True) if wire.get("requires_grad") else tensor
    if kind == "graph":
        leaf = _tensor(wire["leaf"]).requires_grad_(True)
        code = compile(wire["expr"], "<exercise spec>", "eval")
        return eval(code, _namespace(), {"x": leaf})
    if kind == "function":
        return make_function(wire["expr"])
    if kind == "value":
        return wire["value"]
    raise ValueError(f"unknown argument kind {kind!r}")


def describe_argument(wire: dict[str, Any]) -> Msg | str:
    """A short description of an argument, for messages: `tensor[3, 4] float64`, `f(x) = sin(x)` (a value as code)."""
    # Imported here: the child builds arguments too, and never needs messages.
    from grader.i18n import msg

    kind = wire["kind"]
    if kind == "tensor":
        shape, dtype = wire["array"]["shape"], wire["array"]["dtype"]
        return msg("arg_tensor", shape=str(list(shape)), dtype=dtype) if shape else msg("arg_scalar_tensor", dtype=dtype)
    if kind == "graph":
        return msg("arg_graph", expr=wire["expr"])
    if kind == "function":
        return msg("arg_function", expr=wire["expr"])
    return repr(wire["value"])
