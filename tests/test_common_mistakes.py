"""One test per row of common-mistakes.md: the verdict the mistake gets, and the hint that names the fix."""

from __future__ import annotations

import nbformat
import pytest

from conftest import EXAMPLES, by_id, en
from grader.grading import GradeOptions, grade_submission
from grader.i18n import Msg

SIN_AND_GRAD = """
import torch
import matplotlib.pyplot as plt

def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    return y.detach(), x.grad
"""

SECTION_F = """
import torch

def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c

def backward_nonscalar(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).backward()
"""


@pytest.fixture(scope="module")
def only(builtin):
    """The built-in exercises with these ids."""
    return lambda *ids: [e for e in builtin if e.spec.id in ids]


def line_of(source: str, text: str) -> int:
    """The 1-based line of the first line containing `text` (as grade_source dedents nothing here)."""
    return next(i for i, line in enumerate(source.splitlines(), start=1) if text in line)


def test_1_curly_quotes_point_at_the_line_and_ask_for_straight_quotes(grade_source, only):
    source = "import matplotlib.pyplot as plt\n\ndef plot_sin_and_grad(x):\n    plt.plot(x, y, ‘x’, ‘y’)\n"
    card = grade_source(source, only("sin-derivative-plot")).scorecard
    assert card.score == 0 and all(c.status == "error" for e in card.exercises for c in e.checks)
    assert card.error_line == 4 and "line 4" in en(card.error)
    assert "plt.plot(x, y, ‘x’, ‘y’)\n" in en(card.error) and en(card.error).endswith("^")  # the line, then a caret
    assert "straight quotes" in en(card.error_hint) and "‘ ’" in en(card.error_hint)


def test_2_numpy_on_a_tensor_that_requires_grad_suggests_detach(grade_source, only):
    source = SIN_AND_GRAD + """
def plot_sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    plt.plot(x.detach().numpy(), y.numpy(), label="sin")
"""
    plot = by_id(grade_source(source, only("sin-derivative-plot")))["sin-derivative-plot"]["plot"]
    assert (plot.status, plot.score) == ("error", 0)
    assert "Can't call numpy()" in en(plot.message)
    assert "t.detach().numpy()" in en(plot.hint)
    assert plot.traceback[-1].line == line_of(source, "y.numpy()") and "y.numpy()" in plot.traceback[-1].text


def test_3_backward_on_a_vector_says_reduce_first_or_pass_gradient(grade_source, only):
    source = SECTION_F + """
def grad_f(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).backward()
    return a.grad
"""
    checks = by_id(grade_source(source, only("vector-control-flow")))["vector-control-flow"]
    gradient = checks["gradient"]
    assert (gradient.status, gradient.score) == ("error", 0)
    assert "y.sum().backward()" in en(gradient.hint) and "gradient=torch.ones_like(y)" in en(gradient.hint)
    assert "d(sum)/dy_i = 1" in en(gradient.hint)
    assert checks["nonscalar-backward-fails"].status == "passed"  # the same error, where it is the answer


def test_4_backward_twice_without_retain_graph_explains_the_freed_graph(grade_source, only):
    source = """
import torch

def backward_twice_retained(x):
    x = x.detach().clone().requires_grad_(True)
    y = 2 * torch.dot(x, x)
    y.backward()
    y.backward()
    return x.grad
"""
    retained = by_id(grade_source(source, only("double-backward")))["double-backward"]["retained-accumulates"]
    assert (retained.status, retained.score) == ("error", 0)
    assert "backward through the graph a second time" in en(retained.message)
    assert "retain_graph=True" in en(retained.hint) and "frees" in en(retained.hint)
    assert retained.traceback[-1].line == line_of(source, "y.backward()") + 1


def test_5_finite_differences_ask_for_autograd(grade_source, only):
    source = """
import torch

def sin_and_grad(x):
    h = 1e-5
    return torch.sin(x), (torch.sin(x + h) - torch.sin(x - h)) / (2 * h)
"""
    checks = by_id(grade_source(source, only("sin-derivative-plot")))["sin-derivative-plot"]
    for check in (checks["values"], checks["autograd"]):
        assert (check.status, check.score) == ("failed", 0)
        assert "asks for autograd" in en(check.hint) and "Finite differences" in en(check.hint)
    assert "dydx differs" in en(checks["values"].message)


def test_6_cosine_is_named_and_removed(grade_source, only):
    source = """import torch
import matplotlib.pyplot as plt

def sin_and_grad(x):
    return torch.sin(x), torch.cos(x)

def plot_sin_and_grad(x):
    plt.plot(x, torch.sin(x), label="sin")
    plt.plot(x, torch.cos(x), label="cos")
    plt.legend()
"""
    checks = by_id(grade_source(source, only("sin-derivative-plot")))["sin-derivative-plot"]
    assert checks["values"].status == "passed" and checks["plot"].status == "passed"  # correct numbers...
    for check in (checks["no-cosine-at-run-time"], checks["no-cosine-in-source"]):
        assert (check.status, check.score) == ("failed", 0)  # ...but not the exercise
        assert "remove cos" in en(check.hint)
    assert "torch.cos" in en(checks["no-cosine-at-run-time"].message)
    assert checks["no-cosine-in-source"].line == 5 and "line 5 (and 1 more places)" in en(checks["no-cosine-in-source"].message)


def test_7_gradient_accumulating_between_calls_is_caught_by_calling_twice(grade_source, only):
    source = SECTION_F + """
def grad_f(a):
    a.requires_grad_(True)
    f(a).sum().backward()
    return a.grad
"""
    gradient = by_id(grade_source(source, only("vector-control-flow")))["vector-control-flow"]["gradient"]
    assert (gradient.status, gradient.score) == ("failed", 0)
    assert "returned 2 times the first" in en(gradient.hint)
    assert "x.grad.zero_()" in en(gradient.hint) and "x.detach().requires_grad_()" in en(gradient.hint)


def test_8_one_path_through_the_control_flow_names_the_unreached_branch(grade_source, only):
    source = """
import torch

def g(x):
    if x.sum() < -100:
        return x * x
    return 2 * x

def g_grad(x):
    return 2 * x if x < -100 else torch.tensor(2.0, dtype=x.dtype)
"""
    checks = by_id(grade_source(source, only("custom-control-flow")))["custom-control-flow"]
    flow = checks["control-flow"]
    assert (flow.status, flow.score) == ("failed", 0)
    assert "took 1 path(s)" in en(flow.message) and f"Lines never reached: {line_of(source, 'x * x')}" in en(flow.message)
    assert "condition that the inputs actually cross" in en(flow.hint)
    assert checks["gradient-agrees"].status == "passed"


def test_9_a_backward_per_element_is_correct_with_a_tip(grade_source, only):
    source = SECTION_F + """
def grad_f(a):
    a = a.detach().clone().requires_grad_(True)
    y = f(a).reshape(-1)
    for i in range(y.numel()):
        y[i].backward(retain_graph=True)
    return a.grad
"""
    exercise = next(e for e in grade_source(source, only("vector-control-flow")).scorecard.exercises)
    assert exercise.score == exercise.max_score  # no deduction
    uses = {c.id: c for c in exercise.checks}["gradient-uses-autograd"]
    assert uses.status == "passed" and uses.hint is None
    assert any("Correct." in tip and "y.sum().backward()" in tip and "one pass" in tip for tip in map(en, uses.tips))


def test_10_a_500_inch_figure_is_shrunk_graded_on_its_curves_and_explained(grade_source, only):
    source = SIN_AND_GRAD + """
def plot_sin_and_grad(x):
    y, dydx = sin_and_grad(x)
    plt.figure(figsize=(500, 500))
    plt.plot(x, y, label="sin(x)")
    plt.plot(x, dydx, label="derivative")
    plt.legend()
    plt.show()
"""
    plot = by_id(grade_source(source, only("sin-derivative-plot")))["sin-derivative-plot"]["plot"]
    assert (plot.status, plot.score) == ("passed", 2)
    assert plot.hint is None
    assert any("500×500 inches" in tip and "50,000×50,000 pixels" in tip and "shrank it to 20×20" in tip
               for tip in map(en, plot.tips))


def test_11_a_shallow_explanation_gets_the_fuller_answer_and_the_measured_graphs(grade_source, only):
    source = (EXAMPLES / "solution.py").read_text().split("WHY_SECOND_DERIVATIVE_COSTS_MORE")[0] + (
        'WHY_SECOND_DERIVATIVE_COSTS_MORE = "the second derivative is the derivative of the first, '
        'so it is computed one more time"\n')
    checks = by_id(grade_source(source, only("second-derivative-cost")))["second-derivative-cost"]
    explanation = checks["explanation"]
    assert explanation.status == "passed" and not explanation.graded  # collected, worth no points
    assert any("create_graph=True" in tip and "larger than the forward graph" in tip for tip in map(en, explanation.tips))
    # The measured answer: f, then f' and f'' built with create_graph=True, on ever larger graphs.
    sizes = checks["graph-size"]
    listed = [en(Msg.model_validate(row)) for row in sizes.details["values"]]  # details hold each row's message
    rows = {label: int(row.rsplit("expected ", 1)[1]) for row in listed
            for label in ("f(x) = exp(x)·x:", "f'(x), built", "f''(x), built") if row.startswith(label)}
    assert rows["f(x) = exp(x)·x:"] < rows["f'(x), built"] < rows["f''(x), built"]
    assert all(row in en(sizes.message) for row in listed)


def test_12_a_missing_module_is_named_with_what_to_do(grade_source, only):
    source = "import torch\nimport seaborn as sns\n\ndef f(a):\n    return a\n\ndef grad_f(a):\n    sns.set_theme()\n"
    card = grade_source(source, only("vector-control-flow")).scorecard
    assert card.error is None  # the rest of the file ran
    (problem,) = card.top_level_errors
    assert problem.line == 2 and "ModuleNotFoundError" in en(problem.message) and "'seaborn'" in en(problem.message)
    assert "'seaborn' is not installed" in en(problem.hint) and "outside your notebook" in en(problem.hint)
    assert [(f.line, f.text) for f in problem.traceback] == [(2, "import seaborn as sns")]
    checks = {c.id: c for c in card.exercises[0].checks}
    assert "NameError" in en(checks["gradient"].message)  # the function that uses it loses its points


def test_12_the_books_helper_library_is_provided(grade_source, only):
    source = "import torch\nfrom d2l import torch as d2l\n\ndef f(a):\n    return d2l.load_data_fashion_mnist(a)\n"
    card = grade_source(source, only("vector-control-flow")).scorecard
    assert card.error is None and card.top_level_errors == []
    checks = {c.id: c for c in card.exercises[0].checks}
    assert "the grader's stand-in for d2l has no `load_data_fashion_mnist`" in en(checks["f-values"].message)


def test_13_a_notebook_with_magics_and_shell_lines_scores_full_marks(tmp_path, sandbox, builtin):
    code = (EXAMPLES / "solution.py").read_text()
    parts = code.split("# 2. Run backward() twice.")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Autograd exercises"),
        nbformat.v4.new_code_cell("!pip install d2l==1.0.3\n%matplotlib inline\nfiles = !ls\ntorch?"),
        nbformat.v4.new_code_cell("%%time\n" + parts[0]),
        nbformat.v4.new_code_cell("%%bash\necho this cell is shell, not Python"),
        nbformat.v4.new_code_cell("# 2. Run backward() twice." + parts[1]),
    ]
    path = tmp_path / "solution.ipynb"
    nbformat.write(notebook, str(path))
    card = grade_submission(path, builtin, sandbox, GradeOptions(seed=13)).scorecard
    assert (card.score, card.max_score) == (50, 50), [(c.id, en(c.message)) for e in card.exercises for c in e.checks if c.status != "passed"]
    assert card.error is None
