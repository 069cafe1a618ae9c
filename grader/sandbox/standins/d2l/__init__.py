"""The grader's stand-in for the d2l package, used only where the real d2l is absent or cannot import.

It provides the submodule `d2l.torch` with the plotting helpers of the book's preliminaries
(plot, set_figsize, set_axes, use_svg_display and plt), so that `from d2l import torch as d2l`
works in the sandbox. It holds none of d2l's code.
"""

import importlib


def __getattr__(name: str):
    """Import the `torch` submodule on first use; explain any other name."""
    if name == "torch":
        # Lazy, so that `import d2l` costs nothing until the submission reaches for d2l.torch.
        return importlib.import_module(__name__ + ".torch")
    raise AttributeError(f"the grader's stand-in for d2l has no `{name}`: it provides only d2l.torch (plot, "
                         "set_figsize, set_axes, use_svg_display and plt); use `from d2l import torch as d2l`, "
                         "matplotlib directly or install d2l")
