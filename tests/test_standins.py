"""The stand-ins for d2l and matplotlib_inline's backend: every scenario in its own interpreter.

`install()` changes `sys.meta_path` and `sys.modules`, so each test runs a script in a fresh
`python -c` and reads back what it printed as JSON.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
STANDIN_D2L = ROOT / "grader" / "sandbox" / "standins" / "d2l"
MISSING_MESSAGE = ("the grader's stand-in for d2l has no `load_data_fashion_mnist`: it provides only plot, "
                   "set_figsize, set_axes, use_svg_display and plt; use matplotlib directly or install d2l")

PRELUDE = """\
import json, sys
import grader.sandbox.standins as standins
standins.install()
"""

# Records the artists each legend is built from: Legend.legend_handles holds proxies drawn in the
# legend box, not the lines themselves, so identity must be checked at construction.
LEGEND_SPY = """\
import matplotlib.legend
import matplotlib.pyplot as plt
LEGEND_SOURCES = []
_legend_init = matplotlib.legend.Legend.__init__
def _spy(self, parent, handles, labels, *args, **kwargs):
    LEGEND_SOURCES.append(list(handles))
    _legend_init(self, parent, handles, labels, *args, **kwargs)
matplotlib.legend.Legend.__init__ = _spy
def _no_show(*args, **kwargs):
    raise AssertionError("plt.show() was called")
plt.show = _no_show
"""


def run(script: str, tmp_path: Path, install: bool = True, pythonpath: Path | None = None) -> dict:
    """Run `script` in a fresh interpreter (after install() unless told otherwise); its last line is JSON."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    paths = [str(pythonpath)] if pythonpath else []
    paths.append(str(ROOT))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    workdir = tmp_path / "cwd"
    workdir.mkdir(exist_ok=True)
    source = (PRELUDE if install else "import json, sys\n") + textwrap.dedent(script)
    result = subprocess.run([sys.executable, "-c", source], cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", autouse=True)
def no_real_d2l():
    """The stand-in scenarios mean something only where this interpreter has no d2l of its own."""
    if importlib.util.find_spec("d2l") is not None:
        pytest.skip("a real d2l is installed in this environment")


IMPORT_FORMS = {
    "import d2l": "import d2l\nmod = d2l.torch",
    "from d2l import torch as d2l": "from d2l import torch as d2l\nmod = d2l",
    "import d2l.torch": "import d2l.torch\nmod = d2l.torch",
    "import d2l.torch as d2l": "import d2l.torch as d2l\nmod = d2l",
    "from d2l.torch import plot, set_figsize": (
        "from d2l.torch import plot, set_figsize\nmod = sys.modules['d2l.torch']\n"
        "assert plot is mod.plot and set_figsize is mod.set_figsize"),
}


@pytest.mark.parametrize("form", IMPORT_FORMS.values(), ids=IMPORT_FORMS.keys())
def test_every_import_form_gets_the_standin(form, tmp_path):
    out = run(form + """
import d2l as package
print(json.dumps({"file": mod.__file__, "name": mod.__name__, "package": package.__file__,
                  "same": package.torch is mod, "plot": callable(mod.plot), "doc": mod.__doc__}))
""", tmp_path)
    assert out["file"] == str(STANDIN_D2L / "torch.py")
    assert out["package"] == str(STANDIN_D2L / "__init__.py")
    assert out["name"] == "d2l.torch" and out["same"] and out["plot"]
    assert "stand-in" in out["doc"]


def test_without_install_d2l_does_not_import(tmp_path):
    out = run("""
try:
    import d2l
    print(json.dumps({"error": None}))
except ImportError as error:
    print(json.dumps({"error": type(error).__name__}))
""", tmp_path, install=False)
    assert out["error"] == "ModuleNotFoundError"


def test_plot_draws_the_function_and_its_derivative_with_their_legend(tmp_path):
    out = run(LEGEND_SPY + """
import torch
from d2l import torch as d2l
x = torch.linspace(-3, 3, 61)
xg = x.clone().requires_grad_(True)
(dy,) = torch.autograd.grad(torch.sin(xg).sum(), xg, create_graph=True)
assert dy.requires_grad
d2l.plot(x, [torch.sin(x), dy], 'x', 'f(x)', legend=['sin', "sin'"])
ax = plt.gca()
lines = list(ax.lines)
legend = ax.get_legend()
handles = legend.legend_handles
print(json.dumps({
    "x": x.tolist(),
    "lines": [{"x": [float(v) for v in l.get_xdata()], "y": [float(v) for v in l.get_ydata()],
               "color": l.get_color(), "style": l.get_linestyle()} for l in lines],
    "texts": [t.get_text() for t in legend.get_texts()],
    "sources_are_the_lines": len(LEGEND_SOURCES) == 1 and len(LEGEND_SOURCES[0]) == len(lines)
                             and all(a is b for a, b in zip(LEGEND_SOURCES[0], lines)),
    "proxies": [{"color": h.get_color(), "style": h.get_linestyle()} for h in handles],
    "labels": [ax.get_xlabel(), ax.get_ylabel()],
    "figures": len(plt.get_fignums()),
}))
""", tmp_path)
    x = np.array(out["x"])
    assert len(out["lines"]) == 2
    first, second = out["lines"]
    np.testing.assert_allclose(first["x"], x, rtol=0, atol=1e-6)
    np.testing.assert_allclose(second["x"], x, rtol=0, atol=1e-6)
    np.testing.assert_allclose(first["y"], np.sin(x), rtol=0, atol=1e-6)
    np.testing.assert_allclose(second["y"], np.cos(x), rtol=0, atol=1e-6)
    assert (second["color"], second["style"]) == ("m", "--")
    assert out["texts"] == ["sin", "sin'"]
    assert out["sources_are_the_lines"]
    assert out["proxies"] == [{"color": line["color"], "style": line["style"]} for line in out["lines"]]
    assert out["labels"] == ["x", "f(x)"]
    assert out["figures"] == 1


LINES = """
ax = plt.gca()
print(json.dumps([{"x": [float(v) for v in l.get_xdata()], "y": [float(v) for v in l.get_ydata()]}
                  for l in ax.lines]))
"""


def test_plot_with_a_single_y(tmp_path):
    out = run(LEGEND_SPY + """
import numpy as np
from d2l import torch as d2l
d2l.plot(np.array([0.0, 1.0, 2.0]), [0.0, 1.0, 4.0], legend=['square'])
assert [t.get_text() for t in plt.gca().get_legend().get_texts()] == ['square']
""" + LINES, tmp_path)
    assert out == [{"x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 4.0]}]


def test_plot_without_y_draws_against_the_index(tmp_path):
    out = run(LEGEND_SPY + """
import torch
from d2l import torch as d2l
d2l.plot(torch.tensor([1.0, 4.0, 9.0], requires_grad=True) * 1)
""" + LINES, tmp_path)
    assert out == [{"x": [0.0, 1.0, 2.0], "y": [1.0, 4.0, 9.0]}]


def test_plot_with_a_list_of_x_series(tmp_path):
    out = run(LEGEND_SPY + """
import torch
from d2l import torch as d2l
d2l.plot([[0.0, 1.0], torch.tensor([5.0, 6.0, 7.0])], [[1.0, 2.0], torch.tensor([3.0, 2.0, 1.0])])
""" + LINES, tmp_path)
    assert out == [{"x": [0.0, 1.0], "y": [1.0, 2.0]}, {"x": [5.0, 6.0, 7.0], "y": [3.0, 2.0, 1.0]}]


def test_plot_on_given_axes_clears_them_first(tmp_path):
    out = run(LEGEND_SPY + """
from d2l import torch as d2l
fig, (left, right) = plt.subplots(1, 2)
left.plot([0, 1], [5, 5])
d2l.plot([0.0, 1.0], [2.0, 3.0], axes=left)
assert len(right.lines) == 0
plt.sca(left)
""" + LINES, tmp_path)
    assert out == [{"x": [0.0, 1.0], "y": [2.0, 3.0]}]


def test_set_figsize_changes_the_default_figure_size(tmp_path):
    out = run("""
import matplotlib.pyplot as plt
from d2l import torch as d2l
before = list(plt.rcParams['figure.figsize'])
d2l.set_figsize((5, 3))
print(json.dumps({"before": before, "after": list(plt.rcParams['figure.figsize']),
                  "figure": list(plt.figure().get_size_inches())}))
""", tmp_path)
    assert out["after"] == [5.0, 3.0] != out["before"]
    assert out["figure"] == [5.0, 3.0]


def test_the_book_aliases_are_there(tmp_path):
    out = run("""
import numpy, torch, matplotlib.pyplot
from d2l import torch as d2l
t = torch.ones(2, requires_grad=True) * 2
print(json.dumps({"torch": d2l.torch is torch, "np": d2l.np is numpy, "plt": d2l.plt is matplotlib.pyplot,
                  "numpy": d2l.numpy(t).tolist()}))
""", tmp_path)
    assert out == {"torch": True, "np": True, "plt": True, "numpy": [2.0, 2.0]}


def test_an_unknown_name_says_what_the_standin_provides(tmp_path):
    out = run("""
import d2l
from d2l import torch as d2l_torch
messages = []
for module in (d2l_torch, d2l):
    try:
        module.load_data_fashion_mnist
        messages.append(None)
    except AttributeError as error:
        messages.append(str(error))
print(json.dumps(messages))
""", tmp_path)
    assert out[0] == MISSING_MESSAGE
    assert out[1].startswith("the grader's stand-in for d2l has no `load_data_fashion_mnist`: it provides only ")


def write_package(root: Path, init: str, torch: str) -> Path:
    """A fake installed d2l under root/site."""
    package = root / "site" / "d2l"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(init, encoding="utf-8")
    (package / "torch.py").write_text(torch, encoding="utf-8")
    return root / "site"


READ_D2L = """
import d2l
from d2l import torch as d2l_torch
print(json.dumps({"package": d2l.__file__, "torch": d2l_torch.__file__, "real": getattr(d2l, "REAL", False),
                  "real_torch": getattr(d2l_torch, "REAL_TORCH", False), "plot": callable(d2l_torch.plot)}))
"""


def test_a_real_d2l_is_used_as_it_is(tmp_path):
    site = write_package(tmp_path, "REAL = True\n", "REAL_TORCH = True\ndef plot(*args):\n    pass\n")
    out = run(READ_D2L, tmp_path, pythonpath=site)
    assert out["package"] == str(site / "d2l" / "__init__.py")
    assert out["torch"] == str(site / "d2l" / "torch.py")
    assert out["real"] and out["real_torch"]


def test_a_broken_real_d2l_falls_back_to_the_standin(tmp_path):
    site = write_package(tmp_path, "REAL = True\nfrom . import torch\nraise ImportError('numpy version')\n",
                         "REAL_TORCH = True\n")
    out = run(READ_D2L, tmp_path, pythonpath=site)
    assert out["package"] == str(STANDIN_D2L / "__init__.py")
    assert out["torch"] == str(STANDIN_D2L / "torch.py")
    assert not out["real"] and not out["real_torch"] and out["plot"]


def test_a_real_d2l_whose_torch_module_breaks_keeps_its_package(tmp_path):
    site = write_package(tmp_path, "REAL = True\n", "import numpy\nraise AttributeError('np.float was removed')\n")
    out = run(READ_D2L, tmp_path, pythonpath=site)
    assert out["package"] == str(site / "d2l" / "__init__.py") and out["real"]
    assert out["torch"] == str(STANDIN_D2L / "torch.py") and out["plot"]


def test_install_is_cheap_lazy_and_idempotent(tmp_path):
    out = run("""
import time
started = time.perf_counter()
standins.install()
cost = time.perf_counter() - started
finders = sum(1 for f in sys.meta_path if getattr(f, "_grader_standins_finder", False))
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("d2l", "matplotlib_inline", "IPython"))
from d2l import torch as d2l
print(json.dumps({"cost": cost, "finders": finders, "first": type(sys.meta_path[0]).__name__, "loaded": loaded,
                  "plot": callable(d2l.plot)}))
""", tmp_path)
    assert out["finders"] == 1 and out["first"] == "_StandinFinder"
    assert out["loaded"] == []
    assert out["cost"] < 0.005
    assert out["plot"]


def test_set_matplotlib_formats_is_harmless_without_ipython(tmp_path):
    assert importlib.util.find_spec("matplotlib_inline") is not None, "matplotlib-inline is a dependency"
    if importlib.util.find_spec("IPython") is not None:
        pytest.skip("IPython is installed here, so the real matplotlib_inline backend loads and is not replaced")
    script = """
try:
    from matplotlib_inline import backend_inline
    backend_inline.set_matplotlib_formats('svg')
    print(json.dumps({"error": None, "doc": backend_inline.__doc__}))
except Exception as error:
    print(json.dumps({"error": type(error).__name__}))
"""
    assert run(script, tmp_path)["error"] is None
    # Without the stand-in the book's line cannot even import: the test above is not vacuous.
    assert run(script, tmp_path, install=False)["error"] == "ModuleNotFoundError"


def test_the_book_plotting_preamble_runs(tmp_path):
    out = run(LEGEND_SPY + """
import torch
from d2l import torch as d2l
d2l.use_svg_display()
x = torch.arange(0, 3, 0.5)
d2l.plot(x, [x ** 2, 2 * x], 'x', 'f(x)', legend=['f(x)', 'Tangent line (x=1)'])
""" + LINES, tmp_path)
    assert [line["y"] for line in out] == [[0.0, 0.25, 1.0, 2.25, 4.0, 6.25], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]]
