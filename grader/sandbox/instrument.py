"""Child side: what a student function did while it ran, beyond what it returned.

Observers: torch functions called (through torch's function-mode hook), autograd runs and their
`create_graph`, calls to watched non-torch functions (`numpy.cos`, `math.cos`), the lines the
student's own code went through (for control-flow paths), and the matplotlib figures it drew.
These are observations for the grader to judge, never verdicts: the child is untrusted.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from grader.sandbox import autograd_watch
from grader.sandbox.autograd_watch import GradientLog
from grader.wire import encode_array

ALIASES = {"numpy": ("numpy._core.umath", "numpy.core.umath")}
"""Modules that hold the same functions as a watched module under other names."""
PLAIN_TORCH_ENTRY_POINTS = ("torch.autograd.", "torch.func.")
"""torch functions written in plain Python that torch's function mode does not report (torch.autograd.grad,
backward, functional.*, forward_ad.*; torch.func.*): watched like numpy's, by a wrapper in their module."""
COMPLEX_COSINE = frozenset({"exp", "exp_", "cosh", "cosh_", "polar", "sin", "sinh", "cos"})
"""Operations that compute a cosine when handed complex numbers (cos(x) = exp(ix).real = cosh(ix))."""

MAX_OPS = 2000
MAX_ARCS = 20000
MAX_FIGURES = 8
MAX_AXES = 16
MAX_SERIES = 32
MAX_POINTS = 100_000
MAX_FIGURE_INCHES = 20.0
MAX_DPI = 200.0
MAX_PNG_PIXELS = 1600
MAX_PNG_BYTES = 4 << 20


@dataclass
class Recorder:
    """What one call did."""

    ops: set[str] = field(default_factory=set)
    watched: dict[str, int] = field(default_factory=dict)
    log: GradientLog = field(default_factory=GradientLog)
    """Autograd's runs during the call and the gradients they produced."""
    arcs: set[tuple[int, int, int]] | None = None
    figures: list[Any] | None = None

    def count(self, name: str) -> None:
        """Count one call of a watched function."""
        self.watched[name] = self.watched.get(name, 0) + 1

    def events(self) -> dict[str, Any]:
        """Plain data of what was recorded (figures are extracted separately)."""
        data: dict[str, Any] = {
            "ops": sorted(self.ops),
            "watched": dict(self.watched),
            "autograd": self.log.runs,
            "autograd_count": self.log.count,
            "autograd_failures": list(self.log.failures),
        }
        if self.arcs is not None:
            data["arcs"] = sorted(self.arcs)
        return data


class Instrumentation:
    """Installs the observers once, before the submission is imported; `observe` scopes them to a call."""

    def __init__(self, submission_path: str, watch: list[str]) -> None:
        self.path = submission_path
        self.watch = set(watch)
        self.active: Recorder | None = None
        self._names: dict[Any, str] = {}

    # -- installation -------------------------------------------------------------------------
    def install(self) -> None:
        """Patch autograd entry points, watched functions and matplotlib."""
        autograd_watch.install(lambda: self.active.log if self.active is not None else None)
        for name in sorted(self.watch):
            module_name, _, attr = name.rpartition(".")
            if module_name.startswith("torch") and not name.startswith(PLAIN_TORCH_ENTRY_POINTS):
                continue  # torch functions are seen by the function mode and at the dispatcher
            try:
                module = importlib.import_module(module_name)
                original = getattr(module, attr)
            except (ImportError, AttributeError):
                continue
            wrapper = self._watched_wrapper(name, original)
            setattr(module, attr, wrapper)
            # The same function under its other names (numpy.cos is numpy._core.umath.cos).
            for alias in ALIASES.get(module_name, ()):
                try:
                    holder = importlib.import_module(alias)
                except ImportError:
                    continue
                if getattr(holder, attr, None) is original:
                    setattr(holder, attr, wrapper)
        self._install_matplotlib()

    def _watched_wrapper(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        path = self.path

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            recorder = self.active
            if recorder is not None and _called_for_student(path):
                recorder.count(name)
            return original(*args, **kwargs)

        return wrapper

    def _install_matplotlib(self) -> None:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure
        from matplotlib.legend import Legend

        instrumentation = self
        original_legend_init = Legend.__init__

        @functools.wraps(original_legend_init)
        def legend_init(legend: Any, parent: Any, handles: Any, labels: Any, *args: Any, **kwargs: Any) -> None:
            # Every way of making a legend (label= plus legend(), legend(['a', 'b']), handles and
            # labels, ax/fig/plt.legend, d2l.plot) ends here with the artists it stands for; the
            # Legend itself keeps only copies, so the originals are noted for describe_figure.
            handles, labels = list(handles), list(labels)
            original_legend_init(legend, parent, handles, labels, *args, **kwargs)
            legend._grader_entries = [(handle, str(label)) for handle, label in zip(handles, labels)]

        Legend.__init__ = legend_init  # type: ignore[method-assign]
        original_init = Figure.__init__
        original_set_size = Figure.set_size_inches
        original_savefig = Figure.savefig

        def clamp_size(figure: Any) -> None:
            width, height = (float(v) for v in figure.get_size_inches())
            if width > MAX_FIGURE_INCHES or height > MAX_FIGURE_INCHES:
                # What was asked, kept within what a report can hold (figsize=(1e308, 4) happens).
                figure._grader_requested_size = [_reportable(width), _reportable(height)]
                original_set_size(figure, min(width, MAX_FIGURE_INCHES), min(height, MAX_FIGURE_INCHES))
            if figure.dpi > MAX_DPI:
                figure._grader_requested_dpi = _reportable(float(figure.dpi))
                figure.set_dpi(MAX_DPI)

        @functools.wraps(original_init)
        def init(figure: Any, *args: Any, **kwargs: Any) -> None:
            original_init(figure, *args, **kwargs)
            clamp_size(figure)
            recorder = instrumentation.active
            if recorder is not None and recorder.figures is not None and len(recorder.figures) < 64:
                recorder.figures.append(figure)

        @functools.wraps(original_set_size)
        def set_size_inches(figure: Any, *args: Any, **kwargs: Any) -> None:
            original_set_size(figure, *args, **kwargs)
            clamp_size(figure)

        @functools.wraps(original_savefig)
        def savefig(figure: Any, *args: Any, **kwargs: Any) -> Any:
            dpi = kwargs.get("dpi")
            if isinstance(dpi, (int, float)) and dpi > MAX_DPI:
                kwargs["dpi"] = MAX_DPI
            return original_savefig(figure, *args, **kwargs)

        Figure.__init__ = init  # type: ignore[method-assign]
        Figure.set_size_inches = set_size_inches  # type: ignore[method-assign]
        Figure.savefig = savefig  # type: ignore[method-assign]
        plt.show = lambda *args, **kwargs: None
        Figure.show = lambda *args, **kwargs: None  # type: ignore[method-assign]
        warnings.filterwarnings("ignore", message=".*non-interactive.*")

    # -- observation --------------------------------------------------------------------------
    @contextmanager
    def observe(self, capture: set[str]) -> Iterator[Recorder]:
        """Record what the code run inside the block does; `capture` adds `arcs` and `figures`."""
        from torch.overrides import TorchFunctionMode

        recorder = Recorder(
            arcs=set() if "arcs" in capture else None,
            figures=[] if "figures" in capture else None,
        )
        instrumentation = self
        depth = [0]

        class OpRecorder(TorchFunctionMode):
            def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
                name = instrumentation._name(func)
                if name is not None:
                    if len(recorder.ops) < MAX_OPS:
                        recorder.ops.add(name)
                    if name in instrumentation.watch:
                        recorder.count(name)
                depth[0] += 1
                try:
                    return func(*args, **(kwargs or {}))
                finally:
                    depth[0] -= 1

        if recorder.figures is not None:
            import matplotlib.pyplot as plt

            plt.close("all")
        previous_trace = sys.gettrace()
        self.active = recorder
        dispatch = self._dispatch_recorder(recorder, depth) if self._watched_bases() else contextlib.nullcontext()
        try:
            with OpRecorder(), dispatch:
                if recorder.arcs is not None:
                    sys.settrace(self._tracer(recorder.arcs))
                try:
                    yield recorder
                finally:
                    sys.settrace(previous_trace)
        finally:
            self.active = None

    def _watched_bases(self) -> dict[str, str]:
        """Operator name -> the watched torch name it stands for (`cos` -> `torch.cos`)."""
        bases: dict[str, str] = {}
        for name in sorted(self.watch):
            if name.startswith("torch."):
                bases.setdefault(name.rsplit(".", 1)[1], name)
        return bases

    def _dispatch_recorder(self, recorder: Recorder, depth: list[int]) -> Any:
        """A dispatch-level watch: the operators that really ran, however they were reached.

        It sees what the function mode cannot (`torch.ops.aten.cos`, calls under
        `DisableTorchFunction`) and a cosine computed through complex numbers. Operators run by
        autograd's own backward pass (the derivative of sin is computed with cos) are not the
        student's and are left out.
        """
        import torch
        from torch.utils._python_dispatch import TorchDispatchMode

        bases = self._watched_bases()
        cosine = next((name for base, name in bases.items() if base.rstrip("_") == "cos"), None)

        class DispatchRecorder(TorchDispatchMode):
            @classmethod
            def _should_skip_dynamo(cls) -> bool:
                # Otherwise torch wraps __torch_dispatch__ to keep torch.compile out of it, which
                # imports torch._dynamo on first use: 1.8 s in every fresh child.
                return False

            def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
                base = func.overloadpacket.__name__
                if torch._C._current_autograd_node() is None:
                    watched = bases.get(base)
                    if watched is not None and depth[0] == 0:
                        recorder.count(watched)  # not reached through the function mode, which counted it already
                        recorder.ops.add(f"aten.{base}")
                    elif cosine is not None and base in COMPLEX_COSINE and _has_complex(args, kwargs):
                        recorder.count(cosine)
                        recorder.ops.add(f"aten.{base} (complex)")
                return func(*args, **(kwargs or {}))

        return DispatchRecorder()

    def _name(self, func: Any) -> str | None:
        try:
            return self._names[func]
        except KeyError:
            pass
        except TypeError:  # unhashable callable
            return None
        from torch.overrides import resolve_name

        try:
            name = resolve_name(func)
        except Exception:  # noqa: BLE001 - a name is a nicety, never a reason to fail a call
            name = None
        if name is None:
            name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
        self._names[func] = name
        return name

    def _tracer(self, arcs: set[tuple[int, int, int]]) -> Callable[..., Any]:
        path = self.path

        def global_trace(frame: Any, event: str, arg: Any) -> Any:
            if frame.f_code.co_filename != path:
                return None
            start = frame.f_code.co_firstlineno
            previous = -start  # negative line numbers mark entry and exit of a code object

            def local_trace(frame: Any, event: str, arg: Any) -> Any:
                nonlocal previous
                if event == "line":
                    if len(arcs) < MAX_ARCS:
                        arcs.add((start, previous, frame.f_lineno))
                    previous = frame.f_lineno
                elif event == "return" and len(arcs) < MAX_ARCS:
                    arcs.add((start, previous, -start))
                return local_trace

            return local_trace

        return global_trace


def _reportable(size: float) -> float:
    """A size the student asked for, as a finite number within what observations may carry."""
    return min(float(size), 1e6) if size == size else 1e6


def _has_complex(args: Any, kwargs: Any) -> bool:
    """Whether a complex tensor (or number) is among an operator's arguments, or it makes one (polar)."""
    import torch

    values = list(args) + list((kwargs or {}).values())
    return any((isinstance(v, torch.Tensor) and v.is_complex()) or isinstance(v, complex) for v in values)


def _called_for_student(path: str) -> bool:
    """Whether a watched function runs on the student's behalf: their code is on the stack, matplotlib is not in between.

    matplotlib calls math.cos to rotate labels when the student plots, and that is not the student
    using cosine; `numpy.vectorize(math.cos)` called by the student is.
    """
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename == path:
            return True
        if "matplotlib" in filename:
            return False
        frame = frame.f_back
    return False


def figures_drawn(recorder: Recorder) -> list[Any]:
    """The figures created during the call: pyplot's and those made with the object API."""
    import matplotlib.pyplot as plt

    figures = list(recorder.figures or [])
    for number in plt.get_fignums():
        figure = plt.figure(number)
        if figure not in figures:
            figures.append(figure)
    return figures[:MAX_FIGURES]


def _legend_entries(figure: Any) -> dict[int, str]:
    """id(artist) -> the text of its legend entry, over every legend of the figure (axes' and figure's)."""
    legends = [ax.get_legend() for ax in figure.axes] + list(figure.legends)
    entries: dict[int, str] = {}
    for legend in legends:
        for handle, label in getattr(legend, "_grader_entries", ()) if legend is not None else ():
            if label and not label.startswith("_"):
                entries.setdefault(id(handle), label)
    return entries


def _series(x: Any, y: Any, label: str, kind: str) -> dict[str, Any] | None:
    try:
        xs = np.asarray(x, dtype=np.float64).ravel()
        ys = np.asarray(y, dtype=np.float64).ravel()
    except (TypeError, ValueError, RuntimeError):
        return None
    truncated = max(len(xs), len(ys)) > MAX_POINTS
    xs, ys = xs[:MAX_POINTS], ys[:MAX_POINTS]
    return {"label": label[:200], "kind": kind, "x": encode_array(xs, "float64"),
            "y": encode_array(ys, "float64"), "truncated": truncated}


def describe_figure(figure: Any, render_png: bool = True) -> dict[str, Any]:
    """Axes, curves, labels and legend of a figure, plus a size-capped PNG of it."""
    import base64

    axes = []
    entries = _legend_entries(figure)
    for ax in figure.axes[:MAX_AXES]:
        series = []
        for line in ax.get_lines()[:MAX_SERIES]:
            item = _series(line.get_xdata(orig=False), line.get_ydata(orig=False), str(line.get_label()), "line")
            if item:
                item["legend_label"] = entries.get(id(line), "")[:200] or None
                series.append(item)
        for collection in ax.collections[: MAX_SERIES - len(series)]:
            offsets = collection.get_offsets()
            if len(offsets):
                item = _series(offsets[:, 0], offsets[:, 1], str(collection.get_label()), "scatter")
                if item:
                    item["legend_label"] = entries.get(id(collection), "")[:200] or None
                    series.append(item)
        legend = ax.get_legend()
        axes.append({
            "title": ax.get_title()[:200],
            "xlabel": ax.get_xlabel()[:200],
            "ylabel": ax.get_ylabel()[:200],
            "legend": [t.get_text()[:200] for t in legend.get_texts()] if legend is not None else None,
            "texts": [t.get_text()[:200] for t in ax.texts[:20]],
            "series": series,
        })
    width, height = (float(v) for v in figure.get_size_inches())
    description: dict[str, Any] = {
        "size_inches": [_reportable(width), _reportable(height)],
        "requested_size_inches": getattr(figure, "_grader_requested_size", None),
        "requested_dpi": getattr(figure, "_grader_requested_dpi", None),
        "legends": [[t.get_text()[:200] for t in legend.get_texts()[:64]] for legend in figure.legends[:4]],
        "suptitle": figure._suptitle.get_text()[:200] if getattr(figure, "_suptitle", None) else "",
        "axes": axes,
        "png": None,
    }
    if render_png:
        buffer = io.BytesIO()
        dpi = min(float(figure.dpi), MAX_PNG_PIXELS / max(width, height, 1e-3))
        try:
            figure.savefig(buffer, format="png", dpi=dpi)
        except Exception as exc:  # noqa: BLE001 - a figure that cannot render is still graded on its data
            description["png_error"] = str(exc)[:300]
        else:
            if buffer.tell() <= MAX_PNG_BYTES:
                description["png"] = base64.b64encode(buffer.getvalue()).decode("ascii")
    return description
