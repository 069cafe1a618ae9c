"""Child side: what a student function did while it ran, beyond what it returned.

Observers: torch functions called (through torch's function-mode hook), autograd runs and their
`create_graph`, calls to watched non-torch functions (`numpy.cos`, `math.cos`), the lines the
student's own code went through (for control-flow paths), and the matplotlib figures it drew.
These are observations for the grader to judge, never verdicts: the child is untrusted.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import io
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from grader.wire import encode_array

MAX_OPS = 2000
MAX_ARCS = 20000
MAX_AUTOGRAD_EVENTS = 1000
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
    autograd: list[dict[str, Any]] = field(default_factory=list)
    autograd_count: int = 0
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
            "autograd": self.autograd,
            "autograd_count": self.autograd_count,
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
        import torch

        for api in ("grad", "backward"):
            setattr(torch.autograd, api, self._autograd_wrapper(api, getattr(torch.autograd, api)))
        for name in sorted(self.watch):
            module_name, _, attr = name.rpartition(".")
            if module_name.startswith("torch"):
                continue  # torch functions are seen by the function mode, however they are reached
            try:
                module = importlib.import_module(module_name)
                setattr(module, attr, self._watched_wrapper(name, getattr(module, attr)))
            except (ImportError, AttributeError):
                continue
        self._install_matplotlib()

    def _autograd_wrapper(self, api: str, original: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(original)

        inside = False

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal inside
            recorder = self.active
            if inside or recorder is None:
                # Under a function mode, torch re-dispatches grad() to itself: count it once.
                return original(*args, **kwargs)
            inside = True
            try:
                recorder.autograd_count += 1
                if len(recorder.autograd) < MAX_AUTOGRAD_EVENTS:
                    try:
                        arguments = signature.bind(*args, **kwargs).arguments
                    except TypeError:
                        arguments = {}
                    recorder.autograd.append({
                        "api": api,
                        "create_graph": bool(arguments.get("create_graph")),
                        "retain_graph": bool(arguments.get("retain_graph")),
                    })
                return original(*args, **kwargs)
            finally:
                inside = False

        return wrapper

    def _watched_wrapper(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        path = self.path

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            recorder = self.active
            # Counted only when the student's own code calls it: matplotlib calls math.cos to
            # rotate labels, and that is not the student using cosine.
            if recorder is not None and sys._getframe(1).f_code.co_filename == path:
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

        class OpRecorder(TorchFunctionMode):
            def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
                name = instrumentation._name(func)
                if name is not None:
                    if len(recorder.ops) < MAX_OPS:
                        recorder.ops.add(name)
                    if name in instrumentation.watch:
                        recorder.count(name)
                return func(*args, **(kwargs or {}))

        if recorder.figures is not None:
            import matplotlib.pyplot as plt

            plt.close("all")
        previous_trace = sys.gettrace()
        self.active = recorder
        try:
            with OpRecorder():
                if recorder.arcs is not None:
                    sys.settrace(self._tracer(recorder.arcs))
                try:
                    yield recorder
                finally:
                    sys.settrace(previous_trace)
        finally:
            self.active = None

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
