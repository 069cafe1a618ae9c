"""Child side: where autograd really runs, and whether what a function returned is what autograd produced.

Reverse mode is watched at the engine (`Variable._execution_engine`), through which every route
passes: `Tensor.backward`, `torch.autograd.backward` and `grad`, `torch.autograd.functional`,
`torch.func` transforms, and code that calls the engine's `run_backward` itself. Forward mode is
watched where its results come out: `forward_ad.unpack_dual`, `torch.func.jvp` and `jacfwd`.

Every gradient those runs produce is noted (the tensor, and a copy of its values at that moment).
When the call returns, each tensor it returned is compared with them, bit for bit, so that a value
that only looks like a derivative (a shifted sine, a hand formula next to a throwaway `backward()`)
is told from autograd's own. This is observation in the student's process, like everything the
child reports: a submission that replaces the engine itself is not seen (docs/architecture.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

MAX_GRADIENTS = 256
"""Gradients noted per call (the first ones: a loop of backward() calls repeats itself)."""
MAX_NOTED_ELEMENTS = 4_000_000
"""Elements of gradient copies kept per call."""
MAX_GRAPH_NODES = 10_000
"""Nodes walked to find the leaves a backward() call fills."""


@dataclass
class GradientLog:
    """The autograd runs of one call and the gradients they produced."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    gradients: list[tuple[Any, Any, str, bool]] = field(default_factory=list)
    """(the tensor, a copy of its values then, the route, whether a create_graph run preceded it)."""
    noted_elements: int = 0
    create_graph_seen: bool = False
    failures: list[str] = field(default_factory=list)
    """Exceptions raised inside autograd during the call (type names): a failure autograd itself saw."""
    failed: list[BaseException] = field(default_factory=list)
    """Those exceptions themselves: what tells autograd's own failure from one raised elsewhere in torch."""

    def failure(self, exc: BaseException) -> None:
        """Note an exception that came out of an autograd run (its engine, or torch.autograd.backward/grad)."""
        if len(self.failed) < 20 and not any(exc is seen for seen in self.failed):
            self.failed.append(exc)
            self.failures.append(type(exc).__name__)

    def raised_inside(self, exc: BaseException) -> bool:
        """Whether `exc` is an exception that came out of an autograd run of this call."""
        return any(exc is seen for seen in self.failed)

    def run(self, api: str, mode: str, create_graph: bool = False, retain_graph: bool = False) -> None:
        """Count one autograd run."""
        self.count += 1
        if len(self.runs) < 1000:
            self.runs.append({"api": api, "mode": mode, "create_graph": create_graph, "retain_graph": retain_graph})

    def note(self, tensor: Any, route: str) -> None:
        """Keep a gradient autograd produced (and a copy of its values now: .grad keeps changing)."""
        import torch

        if type(tensor) is not torch.Tensor or len(self.gradients) >= MAX_GRADIENTS:
            return
        try:
            copy = tensor.detach().clone() if self.noted_elements + tensor.numel() <= MAX_NOTED_ELEMENTS else None
        except RuntimeError:  # a tensor of a torch.func level, not usable outside it
            return
        self.noted_elements += tensor.numel() if copy is not None else 0
        self.gradients.append((tensor, copy, route, self.create_graph_seen))

    def origin(self, value: Any) -> tuple[str, bool] | None:
        """(route, after a create_graph run) when `value` is, bit for bit, a gradient noted in this call."""
        import numpy as np
        import torch

        if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
            try:
                value = torch.from_numpy(np.ascontiguousarray(value))
            except (TypeError, ValueError):
                return None
        if type(value) is not torch.Tensor or value.numel() == 0:
            return None
        candidate = value.detach()
        for tensor, copy, route, after in reversed(self.gradients):
            for known in (tensor, copy):
                if known is None:
                    continue
                try:
                    if (known.numel() == candidate.numel() and known.dtype == candidate.dtype
                            and torch.equal(known.detach().reshape(-1), candidate.reshape(-1))):
                        return route, after
                except RuntimeError:
                    continue
        return None


def _leaves(roots: Any) -> list[Any]:
    """The leaf tensors a backward() from these roots accumulates into (through AccumulateGrad nodes)."""
    import torch

    if isinstance(roots, (torch.Tensor,)):
        roots = (roots,)
    stack = [getattr(r, "grad_fn", None) for r in roots if isinstance(r, torch.Tensor)]
    seen: set[int] = set()
    leaves = []
    while stack and len(seen) < MAX_GRAPH_NODES:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            leaves.append(variable)
        stack.extend(next_node for next_node, _ in getattr(node, "next_functions", ()))
    return leaves


class _Route:
    """The public entry point a reverse-mode run was started through, when it was not torch.autograd itself.

    The engine sees `torch.func.vjp` and `torch.autograd.functional.jacobian` as runs of
    torch.autograd.grad (which they call); a message should name what the student called.
    """

    def __init__(self) -> None:
        self.label: str | None = None

    def during(self, label: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call `function` with runs labelled `label` (the outermost label stays)."""
        if self.label is not None:
            return function(*args, **kwargs)
        self.label = label
        try:
            return function(*args, **kwargs)
        finally:
            self.label = None


class _Engine:
    """Stands in for autograd's engine: every reverse-mode run passes here, whatever started it."""

    def __init__(self, engine: Any, active: Callable[[], GradientLog | None], route: _Route | None = None) -> None:
        self._engine = engine
        self._active = active
        self._route = route

    def run_backward(self, tensors: Any, grad_tensors: Any, keep_graph: bool, create_graph: bool,
                     inputs: Any = (), allow_unreachable: bool = False, accumulate_grad: bool = True) -> Any:
        """Count the run, run it, and note the gradients it produced."""
        log = self._active()
        if log is None:
            return self._engine.run_backward(tensors, grad_tensors, keep_graph, create_graph, inputs,
                                             allow_unreachable, accumulate_grad)
        api = "backward" if accumulate_grad else ((self._route.label if self._route else None) or "grad")
        log.run(api, "reverse", bool(create_graph), bool(keep_graph))
        leaves = _leaves(tensors) if accumulate_grad and not inputs else list(inputs or ())
        try:
            result = self._engine.run_backward(tensors, grad_tensors, keep_graph, create_graph, inputs,
                                               allow_unreachable, accumulate_grad)
        except BaseException as exc:
            log.failure(exc)
            raise
        if accumulate_grad:
            for leaf in leaves:
                if getattr(leaf, "grad", None) is not None:
                    log.note(leaf.grad, "backward")
        else:
            for gradient in result or ():
                log.note(gradient, "grad")
        if create_graph:
            log.create_graph_seen = True
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class _Outermost:
    """Whether a forward-mode entry point is running: the ones it calls itself are not runs of their own.

    `torch.func.jvp` unpacks its duals with `forward_ad.unpack_dual`, and `jacfwd` may too: one
    jvp is one run, by the route the student called, not two by two routes.
    """

    def __init__(self) -> None:
        self.busy = False


def _forward_wrapper(original: Callable[..., Any], api: str, active: Callable[[], GradientLog | None],
                     tangents: Callable[[Any], list[Any]], outermost: _Outermost) -> Callable[..., Any]:
    """A forward-mode entry point that counts its run and notes the tangents it returns (when it is the outermost)."""

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        log = active()
        if log is None or outermost.busy:
            return original(*args, **kwargs)
        outermost.busy = True
        try:
            result = original(*args, **kwargs)
        finally:
            outermost.busy = False
        log.run(api, "forward")
        for tangent in tangents(result):
            log.note(tangent, "forward")
        return result

    return wrapper


def _transform_wrapper(original: Callable[..., Any], name: str, active: Callable[[], GradientLog | None],
                       route: _Route) -> Callable[..., Any]:
    """A torch.func transform whose transformed function's results are noted as autograd's, when autograd ran (runs labelled `func`)."""

    @functools.wraps(original)
    def transform(*args: Any, **kwargs: Any) -> Any:
        transformed = original(*args, **kwargs)
        if not callable(transformed):
            return transformed

        @functools.wraps(transformed)
        def run(*inner: Any, **inner_kwargs: Any) -> Any:
            log = active()
            before = log.count if log is not None else 0
            result = route.during("func", transformed, *inner, **inner_kwargs)
            if log is not None and log.count > before:
                for item in _tensors(result):
                    log.note(item, f"func.{name}")
            return result

        return run

    return transform


def _labelled(original: Callable[..., Any], label: str, route: _Route) -> Callable[..., Any]:
    """An entry point whose reverse-mode runs are labelled (`functional`: torch.autograd.functional.jacobian...)."""

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return route.during(label, original, *args, **kwargs)

    return wrapper


def _vjp_wrapper(original: Callable[..., Any], route: _Route) -> Callable[..., Any]:
    """`torch.func.vjp`: the engine runs when the returned vjp_fn is called, so that is what is labelled."""

    @functools.wraps(original)
    def vjp(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if isinstance(result, tuple) and len(result) >= 2 and callable(result[1]):
            vjp_fn = result[1]

            @functools.wraps(vjp_fn)
            def labelled(*inner: Any, **inner_kwargs: Any) -> Any:
                return route.during("func", vjp_fn, *inner, **inner_kwargs)

            return (result[0], labelled, *result[2:])
        return result

    return vjp


def _attempt_wrapper(original: Callable[..., Any], api: str, active: Callable[[], GradientLog | None]) -> Callable[..., Any]:
    """`torch.autograd.backward`/`grad`: a call that fails before reaching the engine still counts as asking for autograd.

    `y.backward()` on a vector raises in Python before any run; the student did use autograd, wrongly.
    """

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        log = active()
        before = log.count if log is not None else 0
        try:
            return original(*args, **kwargs)
        except BaseException as exc:
            if log is not None:
                if log.count == before:
                    log.run(api, "reverse", bool(kwargs.get("create_graph")), bool(kwargs.get("retain_graph")))
                log.failure(exc)
            raise

    return wrapper


def _tensors(value: Any, depth: int = 0) -> list[Any]:
    import torch

    if type(value) is torch.Tensor:
        return [value]
    if isinstance(value, (tuple, list)) and depth < 3:
        return [t for item in value for t in _tensors(item, depth + 1)]
    return []


def install(active: Callable[[], GradientLog | None]) -> None:
    """Put the watchers in place (once, before the submission is imported)."""
    import torch
    import torch.autograd.forward_ad as forward_ad
    import torch.func
    from torch.autograd.variable import Variable

    route = _Route()
    if not isinstance(Variable._execution_engine, _Engine):
        Variable._execution_engine = _Engine(Variable._execution_engine, active, route)
    for api in ("backward", "grad"):
        setattr(torch.autograd, api, _attempt_wrapper(getattr(torch.autograd, api), api, active))
    outermost = _Outermost()
    forward_ad.unpack_dual = _forward_wrapper(forward_ad.unpack_dual, "unpack_dual", active,
                                              lambda dual: [getattr(dual, "tangent", None)], outermost)
    torch.func.jvp = _forward_wrapper(torch.func.jvp, "jvp", active,
                                      lambda result: _tensors(result[1]) if isinstance(result, tuple) and len(result) > 1 else [],
                                      outermost)
    for name in ("grad", "grad_and_value", "jacrev", "jacfwd", "hessian", "vmap"):
        original = getattr(torch.func, name, None)
        if original is not None:
            setattr(torch.func, name, _transform_wrapper(original, name, active, route))
    torch.func.vjp = _vjp_wrapper(torch.func.vjp, route)
    import torch.autograd.functional as functional

    for name in ("jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"):
        if callable(getattr(functional, name, None)):
            setattr(functional, name, _labelled(getattr(functional, name), "functional", route))
    torch.vmap = torch.func.vmap
    if getattr(torch.func, "jacfwd", None) is not None:
        jacfwd = torch.func.jacfwd

        @functools.wraps(jacfwd)
        def counted_jacfwd(*args: Any, **kwargs: Any) -> Any:
            # The function jacfwd returns is the forward-mode entry point: each call of it is one run.
            return _forward_wrapper(jacfwd(*args, **kwargs), "jacfwd", active, _tensors, outermost)

        torch.func.jacfwd = counted_jacfwd


def graph_signature(value: Any) -> str | None:
    """A digest of the autograd graph behind a returned tensor: its nodes' kinds and the constants they saved.

    Two calls whose control flow took different paths but built the same computation (an `if`
    whose branches do the same thing, `if x > 0: pass`) have the same signature; `2 * x` and
    `3 * x` do not, as the constant is saved. Tensors that depend on the input are left out.
    """
    import hashlib

    import torch

    if type(value) is not torch.Tensor or value.grad_fn is None:
        return None
    parts: list[str] = []
    stack, seen = [value.grad_fn], set()
    while stack and len(seen) < MAX_GRAPH_NODES:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        constants = []
        for name in sorted(a for a in dir(node) if a.startswith("_saved_")):
            try:
                saved = getattr(node, name)
            except Exception:  # noqa: BLE001 - a freed or unreadable saved value says nothing
                continue
            if isinstance(saved, torch.Tensor):
                if saved.requires_grad or saved.numel() != 1:
                    continue  # depends on the input, or is data, not a constant of the formula
                saved = saved.item()
            if isinstance(saved, (int, float, bool)):
                constants.append(f"{name}={saved!r}")
        parts.append(f"{type(node).__name__}({','.join(constants)})")
        stack.extend(next_node for next_node, _ in getattr(node, "next_functions", ()))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def provenance(value: Any, log: GradientLog) -> list[dict[str, Any]]:
    """For each tensor the call returned (at the top level or as an item of a tuple/list): is it autograd's?"""
    import numpy as np
    import torch

    found = []
    items = [((), value)] if not isinstance(value, (tuple, list)) else [((i,), v) for i, v in enumerate(value[:64])]
    for path, item in items:
        if type(item) is not torch.Tensor and not isinstance(item, np.ndarray):
            continue
        origin = log.origin(item)
        found.append({"path": list(path), "autograd": origin is not None,
                      "route": origin[0] if origin else None, "after_create_graph": bool(origin and origin[1])})
    return found
