"""Arguments: the torch objects (tensors, functions, graphs) built from their plain-data form.

Both sides use this: the child to call the student's function, the grader to call the reference
on exactly the same values.
"""

from __future__ import annotations

import builtins
import importlib
import math
from typing import TYPE_CHECKING, Any, Callable

from grader.wire import decode_array

if TYPE_CHECKING:
    from grader.i18n import Msg

# Spec expressions are the instructor's (trusted) and run with Python's ordinary builtins. A
# restricted set breaks torch itself: C++ code called from an expression imports Python modules
# at call time (`torch.where` imports on first use, `torch.tensor` finds `torch.storage`), and
# such an import looks `__import__` up in the builtins of the calling frame, the expression's.
# Whether it broke then depended on what had run before (an import done once is cached).
# The copy is taken when this module is first imported, which in the child is in the warm
# worker, before any submission runs: a submission that replaces `builtins.__import__` or
# deletes a builtin does not change how the grader builds its arguments.
_BUILTINS = dict(vars(builtins))


def _torch() -> Any:
    # Not an `import` statement: that asks `builtins.__import__`, which a submission may have replaced.
    return importlib.import_module("torch")


def _namespace(x: Any) -> dict[str, Any]:
    # `x` among the globals, not as a local: a comprehension or lambda inside the expression has a
    # scope of its own, which sees the globals but not the locals of the eval.
    return {"torch": _torch(), "math": math, "__builtins__": _BUILTINS, "x": x}


def _tensor(encoded: dict[str, Any]) -> Any:
    torch = _torch()
    array = decode_array(encoded)
    dtype = getattr(torch, encoded["dtype"])
    return torch.from_numpy(array).to(dtype)


def make_function(expr: str) -> Callable[[Any], Any]:
    """The elementwise function `lambda x: <expr>`."""
    code = compile(expr, "<exercise spec>", "eval")

    def function(x: Any) -> Any:
        return eval(code, _namespace(x))

    function.__name__ = function.__qualname__ = "f"
    # No formula in __doc__: it would hand a submission the expression to differentiate by hand.
    # (Its code object is still reachable by introspection, as everything in the student's process
    # is; the returns_gradient check is what makes a hand-made derivative fail, whatever its source.)
    function.__doc__ = None
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
        return eval(code, _namespace(leaf))
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
