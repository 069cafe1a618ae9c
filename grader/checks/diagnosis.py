"""Diagnosis from how a result differs from the expected one, and from the submission's source.

When a value is wrong, the way it is wrong often names the mistake, in any exercise and with no
configuration in its spec:

- a constant integer multiple of the expected value that grows with each call on the same input,
  or a running sum of the expected values of the calls so far: gradients accumulating in `.grad`;
- the expected value times, element by element, something the student had at hand (an input, an
  item they also returned, the value of the exercise's function): a `gradient=` that weights,
  `y.backward(x)` or `d.backward(d.detach())`;
- a small error everywhere, of the size a difference quotient makes, in a call of a gradient
  that ran no autograd: finite differences;
- wrong entries from a fixed index on, or an IndexError, in a function with a loop over
  `range(<number>)`: a loop hard-coded to one input size;
- a name the function uses defined twice, differently, at the top level: the last one wins.

Each hint is returned only with its evidence; without it the message states the facts alone.
Nothing here changes a status or a score.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.checks.base import CallView, CheckContext, ReferenceFailure
from grader.checks.values import Mismatch, Tolerance, compare_arrays
from grader.i18n import Msg, Text, msg
from grader.observations import ExceptionReport, FloatValue, NdarrayValue, SequenceValue, TensorValue
from grader.wire import decode_array

RATIO_RTOL = 1e-6
"""How exactly a ratio must hold: far tighter than any coincidence, far looser than rounding."""
DIFFERENCE_QUOTIENT_ERRORS = (1e-13, 1e-2)
"""The relative error of a difference quotient: truncation and rounding keep it inside this range."""


@dataclass(frozen=True)
class Compared:
    """One call of a compare check: what came back, what was expected, and how they differ."""

    view: CallView
    expected: Any
    got: Any
    mismatch: Mismatch | None


@dataclass(frozen=True)
class Item:
    """One numeric item of a result beside its expected counterpart (same shape), as float64."""

    path: tuple[int, ...]
    name: Text
    got: np.ndarray
    expected: np.ndarray


@dataclass(frozen=True)
class Diagnosis:
    """What the relation between the values shows: a hint (with its evidence) and a further fact."""

    hint: Msg | None = None
    fact: Msg | None = None


def _array(value: Any) -> np.ndarray | None:
    if isinstance(value, (TensorValue, NdarrayValue)) and value.array.dtype.kind in "fiu":
        return value.array.astype(np.float64)
    if isinstance(value, FloatValue):
        return np.array(value.value, dtype=np.float64)
    return None


def numeric_items(expected: Any, got: Any, name: Text, names: list[str] | None = None) -> list[Item]:
    """The numeric items present in both, with equal shapes: the value itself, or the items of a tuple."""
    if isinstance(expected, SequenceValue) and isinstance(got, SequenceValue):
        found = []
        for i, (e, g) in enumerate(zip(expected.items, got.items)):
            item_name: Text = names[i] if names and i < len(names) else msg("item_of", name=name, i=i)
            found += [Item((i,), item_name, item.got, item.expected) for item in numeric_items(e, g, item_name)
                      if item.path == ()]
        return found
    e, g = _array(expected), _array(got)
    if e is None or g is None or e.shape != g.shape:
        return []
    return [Item((), name, g, e)]


def _same(item: Item, tol: Tolerance) -> bool:
    return compare_arrays("", item.got, item.expected, tol) is None


def _item_at(compared: Compared, path: tuple[int, ...], name: Text, names: list[str] | None) -> Item | None:
    return next((i for i in numeric_items(compared.expected, compared.got, name, names) if i.path == path), None)


def constant_ratio(got: np.ndarray, expected: np.ndarray) -> float | None:
    """k when `got` is k times `expected` at every entry (within RATIO_RTOL), else None."""
    if not (np.all(np.isfinite(got)) and np.all(np.isfinite(expected))) or expected.size == 0:
        return None
    scale = float(np.max(np.abs(expected)))
    if scale == 0:
        return None
    nonzero = np.abs(expected) > 1e-12 * scale
    ratios = got[nonzero] / expected[nonzero]
    k = float(ratios.flat[0])
    if not np.allclose(ratios, k, rtol=RATIO_RTOL, atol=0):
        return None
    # Where the expected value is (nearly) zero, k times it must be too.
    if np.any(np.abs(got[~nonzero]) > 1e-9 * scale * max(1.0, abs(k))):
        return None
    return k


def _whole(k: float) -> int | None:
    return int(round(k)) if abs(k - round(k)) < 1e-6 else None


def accumulation_hint(items: list[tuple[CallView, Item]], function: str) -> Msg | None:
    """Gradients accumulating in `.grad` between calls: a running sum over all calls, or growing multiples on repeats."""
    # One leaf kept across every call (a module-level tensor): each result is the sum of the
    # gradients of all calls so far, whatever their inputs.
    if len(items) >= 2 and len({i.expected.shape for _, i in items}) == 1:
        running = np.zeros_like(items[0][1].expected)
        summed = True
        for _, item in items:
            running = running + item.expected
            scale = max(float(np.max(np.abs(running))), 1e-300)
            if not np.allclose(item.got, running, rtol=RATIO_RTOL, atol=1e-12 * scale):
                summed = False
                break
        differs = any(not np.allclose(i.got, i.expected, rtol=RATIO_RTOL) for _, i in items)
        if summed and differs:
            return msg("accumulated_sum_hint", function=function, name=items[0][1].name)
    # The caller's tensor made the leaf: its .grad grows on each repeated call with that very tensor.
    groups: dict[tuple[int, int], list[tuple[int, Item]]] = {}
    for view, item in items:
        groups.setdefault((view.planned.case, view.planned.sample), []).append((view.planned.repeat, item))
    for group in groups.values():
        if len(group) < 2:
            continue
        multiples = [_whole(k) if (k := constant_ratio(i.got, i.expected)) is not None else None
                     for _, i in sorted(group, key=lambda pair: pair[0])]
        if None in multiples:
            continue
        grows = all(a < b for a, b in zip(multiples, multiples[1:]))  # type: ignore[operator]
        if grows and multiples[-1] >= 2:  # type: ignore[operator]
            return msg("accumulated_repeat_hint", function=function, name=group[0][1].name, ratios=list(multiples))
    return None


def parameter_names(signature: str) -> list[str]:
    """The parameter names of a spec's signature, `(f, x)` -> `[f, x]`."""
    names = []
    for part in signature.strip()[1:-1].split(","):
        name = part.split("=")[0].split(":")[0].strip().lstrip("*")
        if name and name != "/":
            names.append(name)
    return names


def _argument_names(ctx: CheckContext, view: CallView) -> list[str]:
    spec = ctx.exercise.functions.get(view.planned.function)
    names = parameter_names(spec.signature) if spec is not None else []
    return names if len(names) == len(view.planned.args) else [f"arg{i + 1}" for i in range(len(view.planned.args))]


def _reference_names(ctx: CheckContext, own: str, arity: int) -> list[str]:
    """References of the exercise that take as many arguments as this call: other compare checks', curves'."""
    found: list[str] = []
    for check in ctx.exercise.checks:
        call_sets = check.call_names()
        if not call_sets or check.kind not in ("compare", "plot"):
            continue
        planned = ctx.plan.for_call_set(ctx.exercise.id, call_sets[0])
        if not planned or len(planned[0].args) != arity:
            continue
        found += [name for name in check.reference_names() if name != own and name not in found]
    return found


def _weights(ctx: CheckContext, compared: Compared, item: Item, reference: str, names: list[str] | None) -> list[tuple[Msg, np.ndarray]]:
    """What the student had at hand, each with how messages name it: inputs, other returned items, the functions' values."""
    view = compared.view
    arg_names = _argument_names(ctx, view)
    found: list[tuple[Msg, np.ndarray]] = []
    for name, arg in zip(arg_names, view.planned.args):
        if arg.get("kind") == "tensor":
            found.append((msg("weight_input", name=name), decode_array(arg["array"]).astype(np.float64)))
    for other in numeric_items(compared.expected, compared.got, item.name, names):
        if other.path != item.path:
            found.append((msg("weight_returned", name=other.name), other.got))
    for name in _reference_names(ctx, reference, len(view.planned.args)):
        try:
            value = ctx.reference_value(name, view.planned)
        except ReferenceFailure:
            continue  # a reference for other arguments: not something the student had at hand here
        array = _array(value)
        if array is not None:
            found.append((msg("weight_value", call=msg("call", function=name, args=arg_names)), array))
    return found


def _is_weighted_by(item: Item, weight: np.ndarray) -> bool:
    if weight.shape != item.expected.shape or weight.size < 2 or not np.all(np.isfinite(weight)):
        return False
    span = float(np.max(np.abs(weight)))
    if span == 0 or float(np.ptp(weight)) <= 1e-9 * span:
        return False  # a constant weight is a plain multiple, said as a fact instead
    scale = float(np.max(np.abs(item.expected)))
    if scale == 0 or not np.all(np.isfinite(item.got)):
        return False
    return bool(np.allclose(item.got, item.expected * weight, rtol=RATIO_RTOL, atol=1e-12 * scale * span))


def weighting_hint(ctx: CheckContext, differing: list[tuple[Compared, Item]], reference: str,
                   names: list[str] | None) -> Msg | None:
    """The expected value times something the student had, in every differing call: a `gradient=` that weights."""
    label: Msg | None = None
    for compared, item in differing[:8]:
        if item.expected.size < 2:
            continue  # one number times another tells nothing apart
        found = next((text for text, weight in _weights(ctx, compared, item, reference, names)
                      if _is_weighted_by(item, weight)), None)
        if found is None or (label is not None and found != label):
            return None
        label = found
    return msg("gradient_weighted_hint", name=differing[0][1].name, weight=label) if label is not None else None


def is_gradient(ctx: CheckContext, call_set: str) -> bool:
    """Whether the exercise expects this call set's results to come from autograd (so they are derivatives)."""
    for check in ctx.exercise.checks:
        if call_set not in check.call_names():
            continue
        if check.kind == "returns_gradient" or (check.kind == "autograd" and getattr(check, "expect", "") == "used"):
            return True
    return False


def difference_quotient_error(got: np.ndarray, expected: np.ndarray) -> bool:
    """A small error at most entries, of the size truncation and rounding give a difference quotient."""
    if got.size == 0 or not (np.all(np.isfinite(got)) and np.all(np.isfinite(expected))):
        return False
    scale = float(np.max(np.abs(expected)))
    if scale == 0:
        return False
    error = np.abs(got - expected)
    low, high = DIFFERENCE_QUOTIENT_ERRORS
    return bool(low < float(np.max(error)) / scale <= high and np.count_nonzero(error > 1e-15 * scale) * 2 >= error.size)


def _ran_autograd(view: CallView) -> bool:
    events = view.report.events if view.report else None
    return events is None or events.autograd_count > 0


def finite_difference_evidence(ctx: CheckContext, view: CallView, item: Item) -> bool:
    """A derivative returned without any autograd run, off by a difference quotient's error."""
    return not _ran_autograd(view) and is_gradient(ctx, view.planned.call_set) \
        and difference_quotient_error(item.got, item.expected)


def looks_like_finite_differences(ctx: CheckContext, call_sets: list[str]) -> bool:
    """Whether some call of these call sets returned a derivative by finite differences (for checks without values).

    The values are those a `compare` check of the exercise judges on the same call set.
    """
    for check in ctx.exercise.checks:
        if check.kind != "compare" or not set(check.call_names()) & set(call_sets):
            continue
        reference = check.reference_names()[0]
        for view in ctx.calls(check.call_names()[0]):
            if view.outcome.status != "returned" or view.report is None or _ran_autograd(view):
                continue
            expected = ctx.reference_value(reference, view.planned)
            if any(difference_quotient_error(i.got, i.expected)
                   for i in numeric_items(expected, view.report.value, "", getattr(check, "outputs", None))):
                return True
    return False


# -- the source: loops of a fixed size, names defined twice ------------------------------------------

def _last_definitions(tree: ast.Module) -> dict[str, ast.AST]:
    found: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = node
    return found


def _functions_used(tree: ast.Module, start: list[str]) -> list[ast.AST]:
    """The definitions of these functions and of the file's functions they call, transitively (in that order)."""
    defined = _last_definitions(tree)
    order: list[str] = []
    todo = [name for name in start if name in defined]
    while todo and len(order) < 50:
        name = todo.pop(0)
        if name in order:
            continue
        order.append(name)
        todo += [n.id for n in ast.walk(defined[name]) if isinstance(n, ast.Name) and n.id in defined and n.id not in order]
    return [defined[name] for name in order]


def _tree(ctx: CheckContext) -> ast.Module | None:
    try:
        return ctx.submission.tree
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def fixed_loop_bounds(ctx: CheckContext, functions: list[str]) -> list[int]:
    """N for every `for ... in range(N)` (or `range(0, N)`) with a literal N in these functions and those they call."""
    tree = _tree(ctx)
    if tree is None:
        return []
    bounds = []
    for definition in _functions_used(tree, functions):
        for node in ast.walk(definition):
            loop = node.iter if isinstance(node, (ast.For, ast.comprehension)) else None
            if not (isinstance(loop, ast.Call) and isinstance(loop.func, ast.Name) and loop.func.id == "range"
                    and 1 <= len(loop.args) <= 2 and not loop.keywords):
                continue
            if all(isinstance(a, ast.Constant) and type(a.value) is int for a in loop.args):
                bound = loop.args[-1].value  # type: ignore[attr-defined]
                if bound > 1 and bound not in bounds:
                    bounds.append(bound)
    return bounds


def _input_length(view: CallView) -> int | None:
    for arg in view.planned.args:
        if arg.get("kind") == "tensor":
            shape = arg["array"]["shape"]
            return int(np.prod(shape)) if shape else 1
    return None


def loop_bound_hint(ctx: CheckContext, view: CallView, exc: ExceptionReport | None = None,
                    item: Item | None = None) -> Msg | None:
    """A loop over range(N) that cannot fit this input: an IndexError on a shorter one, untouched entries on a longer one."""
    function = view.planned.function
    frames = [f.function for f in exc.frames] if exc is not None else []
    bounds = fixed_loop_bounds(ctx, [function] + frames)
    length = _input_length(view)
    if not bounds or length is None:
        return None
    if exc is not None:
        if exc.type == "IndexError" and any(n > length for n in bounds):
            return msg("fixed_loop_hint", n=max(n for n in bounds if n > length), size=length)
        return None
    if item is None or item.got.ndim == 0:
        return None
    rows_bad = np.any((np.abs(item.got - item.expected) > 1e-9 * (np.abs(item.expected) + 1e-300)).reshape(item.got.shape[0], -1),
                      axis=1)
    for n in bounds:
        if n < item.got.shape[0] and not rows_bad[:n].any() and rows_bad[n:].any():
            return msg("fixed_loop_hint", n=n, size=length)
    return None


def _definitions(tree: ast.Module) -> dict[str, list[ast.AST]]:
    """Top-level definitions of each name, in order: functions, classes, and lambdas assigned to a name."""
    found: dict[str, list[ast.AST]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node)
    return found


def _body(node: ast.AST) -> str:
    """A definition's code without its line numbers or name, so that two copies of the same cell compare equal."""
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def redefinition_hint(ctx: CheckContext, function: str) -> Msg | None:
    """When the function, or a function it uses, is defined twice with different code: the last definition wins."""
    tree = _tree(ctx)
    if tree is None:
        return None
    definitions = _definitions(tree)
    used = [function] + [n.id for d in _functions_used(tree, [function]) for n in ast.walk(d) if isinstance(n, ast.Name)]
    for name in dict.fromkeys(used):
        nodes = definitions.get(name, [])
        if len(nodes) >= 2 and len({_body(n) for n in nodes}) >= 2:
            places = [ctx.where(getattr(n, "lineno", 1)) for n in nodes]
            return msg("redefined_hint", name=name, n=len(nodes), places=places, last=places[-1])
    return None


# -- compare: putting it together -------------------------------------------------------------------

def diagnose(ctx: CheckContext, compared: list[Compared], reference: str, tol: Tolerance,
             names: list[str] | None = None) -> Diagnosis:
    """What the differences of a compare check show, from the first differing numeric item of the first mismatch."""
    function = compared[0].view.planned.function
    mismatched = [c for c in compared if c.mismatch is not None]
    first = mismatched[0]
    if first.mismatch is None or first.mismatch.kind != "values":
        return Diagnosis()
    base: Text = msg("the_result")
    differing_item = next((i for i in numeric_items(first.expected, first.got, base, names) if not _same(i, tol)), None)
    if differing_item is None:
        return Diagnosis()
    path = differing_item.path
    items = [(c.view, item) for c in compared if (item := _item_at(c, path, base, names)) is not None]
    differing = [(c, item) for c in mismatched if (item := _item_at(c, path, base, names)) is not None
                 and not _same(item, tol)]
    ratio = constant_ratio(differing_item.got, differing_item.expected)
    # One number is always some multiple of another: only a ratio shared by several entries is a fact.
    scaled = ratio is not None and abs(ratio - 1) > 1e-3 and differing_item.expected.size >= 2
    fact = msg("relation_scaled", name=differing_item.name, ratio=ratio) if scaled else None
    hint = accumulation_hint(items, function) or weighting_hint(ctx, differing, reference, names) \
        or loop_bound_hint(ctx, first.view, item=differing_item)
    if hint is None and finite_difference_evidence(ctx, first.view, differing_item):
        hint = msg("finite_difference_hint")
    return Diagnosis(hint, fact)
