"""The grader's stand-in for d2l.torch, used only where the real d2l is absent or cannot import.

It provides the plotting helpers of the book's preliminaries, with the behaviour the book
documents: plot, set_figsize, set_axes, use_svg_display, and plt (matplotlib.pyplot); besides
them the book's cheap aliases torch, np and numpy(x). Any other name raises an AttributeError
that says so. It never shows a figure: the grader reads what was drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib import pyplot as plt

_PROVIDED = "plot, set_figsize, set_axes, use_svg_display and plt"


def __getattr__(name: str) -> Any:
    """Explain that the stand-in lacks a name the real d2l has."""
    raise AttributeError(f"the grader's stand-in for d2l has no `{name}`: it provides only {_PROVIDED}; "
                         "use matplotlib directly or install d2l")


def numpy(x: Any, *args: Any, **kwargs: Any) -> Any:
    """A tensor as a numpy array, detached from autograd first."""
    return x.detach().numpy(*args, **kwargs)


def use_svg_display() -> None:
    """Do nothing: the book switches Jupyter to SVG here, and the grader displays no figure."""


def set_figsize(figsize: Any = (3.5, 2.5)) -> None:
    """Set the size of the figures made from now on, in inches."""
    use_svg_display()
    plt.rcParams["figure.figsize"] = figsize


def set_axes(axes: Any, xlabel: Any, ylabel: Any, xlim: Any, ylim: Any, xscale: Any, yscale: Any,
             legend: Any) -> None:
    """Label, bound and scale both axes, add the legend when there is one, and draw the grid."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid(True)


def _one_series(data: Any) -> bool:
    """True for a single series of numbers, False for a collection of series (the book's has_one_axis)."""
    if hasattr(data, "ndim"):
        return data.ndim == 1
    if isinstance(data, (list, tuple)):
        # An empty list, or a list of 0-d tensors, is one series too: the book would fail on both.
        return not data or not hasattr(data[0], "__len__") or getattr(data[0], "ndim", None) == 0
    return False


def _array(tensor: torch.Tensor) -> np.ndarray:
    plain = tensor.detach().cpu()
    # numpy has no bfloat16.
    return (plain.float() if plain.dtype == torch.bfloat16 else plain).numpy()


def _plottable(series: Any) -> Any:
    """The series with every tensor detached: matplotlib cannot convert one that requires grad."""
    if isinstance(series, torch.Tensor):
        return _array(series)
    if isinstance(series, (list, tuple)) and any(isinstance(value, torch.Tensor) for value in series):
        return np.array([_array(value) if isinstance(value, torch.Tensor) else value for value in series])
    return series


def plot(X: Any, Y: Any = None, xlabel: Any = None, ylabel: Any = None, legend: Any = None, xlim: Any = None,
         ylim: Any = None, xscale: str = "linear", yscale: str = "linear", fmts: Any = ("-", "m--", "g-.", "r:"),
         figsize: Any = (3.5, 2.5), axes: Any = None) -> None:
    """Plot one or more series on `axes` (the current axes by default), as the book's d2l.plot does."""
    if _one_series(X):
        X = [X]
    if Y is None:
        # The given series are the y values, each drawn against its index.
        X, Y = [None] * len(X), X
    elif _one_series(Y):
        Y = [Y]
    if len(X) != len(Y):
        # One x series (or a few) shared by every y series, as in plot(x, [f(x), df(x)]).
        X = list(X) * len(Y)
    set_figsize(figsize)
    if axes is None:
        axes = plt.gca()
    axes.cla()
    # zip stops at the shortest, so like the book's this draws at most len(fmts) series.
    for x, y, fmt in zip(X, Y, fmts):
        x, y = _plottable(x), _plottable(y)
        if x is None or len(x) == 0:
            axes.plot(y, fmt)
        else:
            axes.plot(x, y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
