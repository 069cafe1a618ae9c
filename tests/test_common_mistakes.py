"""One test per row of common-mistakes.md: the verdict the mistake gets, and the hint that names the fix."""

from __future__ import annotations

import nbformat
import pytest

from conftest import EXAMPLES, by_id, en, zh
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
    # Nothing was answered: the grader's explanation of this very error leads; the instructor's hint,
    # about a wrong answer (the 8x of accumulation), follows it as a tip.
    assert retained.hint.key == "backward_twice_hint" and "frees" in en(retained.hint)
    assert "retain_graph=True" in en(retained.hint)
    assert any("8x in all" in en(tip) for tip in retained.tips)
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
    assert checks["no-cosine-in-source"].line == 5 and "line 5 (and 1 more place)" in en(checks["no-cosine-in-source"].message)


def test_7_gradient_accumulating_between_calls_is_caught_by_calling_twice(grade_source, only):
    source = SECTION_F + """
def grad_f(a):
    a.requires_grad_(True)
    f(a).sum().backward()
    return a.grad
"""
    gradient = by_id(grade_source(source, only("vector-control-flow")))["vector-control-flow"]["gradient"]
    assert (gradient.status, gradient.score) == ("failed", 0)
    assert gradient.hint.key == "accumulated_repeat_hint" and "at 1, then 2 times the expected value" in en(gradient.hint)
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
    assert "took 1 path through" in en(flow.message) and f"Lines never reached: {line_of(source, 'x * x')}" in en(flow.message)
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


def test_14_a_gradient_argument_that_weights_is_named_from_the_numbers(grade_source, only):
    source = SECTION_F + """
def grad_f(a):
    a = a.detach().clone().requires_grad_(True)
    d = f(a)
    d.backward(d.detach())
    return a.grad

def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.backward(x)
    return y.detach(), x.grad
"""
    checks = by_id(grade_source(source, only("vector-control-flow", "sin-derivative-plot")))
    by_value = checks["vector-control-flow"]["gradient"]
    assert (by_value.status, by_value.score) == ("failed", 0)
    assert by_value.hint.key == "gradient_weighted_hint"
    assert "the expected gradient times the value of f(a), element by element" in en(by_value.hint)
    by_input = checks["sin-derivative-plot"]["values"]
    assert (by_input.status, by_input.score) == ("failed", 0) and "dydx differs" in en(by_input.message)
    assert "dydx is the expected gradient times the input x" in en(by_input.hint)
    for check in (by_value, by_input):
        assert "(y * v).sum()" in en(check.hint) and "torch.ones_like(y)" in en(check.hint) and "y.sum().backward()" in en(check.hint)
    assert "输入 x" in zh(by_input.hint) and "f(a) 的值" in zh(by_value.hint)
    # The gradient is autograd's own, weighted: provenance has nothing to say against it.
    assert checks["sin-derivative-plot"]["gradient-from-autograd"].status == "passed"


def test_15_a_loop_of_a_fixed_size_fails_on_a_shorter_input_and_misses_entries_of_a_longer_one(grade_source, only):
    source = """
import torch

def sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    for i in range(100):
        y[i].backward(retain_graph=True)
    return y.detach(), x.grad
"""
    values = by_id(grade_source(source, only("sin-derivative-plot")))["sin-derivative-plot"]["values"]
    assert (values.status, values.score) == ("error", 0) and "IndexError" in en(values.message)
    assert values.hint.key == "fixed_loop_hint" and "range(100)" in en(values.hint) and "64 entries" in en(values.hint)
    assert "range(len(x))" in en(values.hint) and "y.sum().backward()" in en(values.hint)
    assert values.traceback[-1].text == "y[i].backward(retain_graph=True)"
    # A loop shorter than the input: entries from 10 on are never reached.
    short = source.replace("range(100)", "range(10)")
    values = by_id(grade_source(short, only("sin-derivative-plot")))["sin-derivative-plot"]["values"]
    assert (values.status, values.score) == ("failed", 0) and "dydx differs at 54 of 64 entries" in en(values.message)
    assert values.hint.key == "fixed_loop_hint" and "range(10)" in en(values.hint) and "range(len(x))" in en(values.hint)


def test_16_a_notebook_cell_that_redefines_an_earlier_exercises_name_is_named_with_both_cells(tmp_path, sandbox, only):
    code = (EXAMPLES / "solution.py").read_text()
    before, after = code.split("# 5. Plot sin and its derivative without using cos.")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(before),
        nbformat.v4.new_markdown_cell("## Exercise 5"),
        nbformat.v4.new_code_cell("def f(x):\n    return torch.sin(x)\n" + after.replace("y = torch.sin(x)", "y = f(x)")),
    ]
    path = tmp_path / "answers.ipynb"
    nbformat.write(notebook, str(path))
    graded = grade_submission(path, only("vector-control-flow", "sin-derivative-plot"), sandbox, GradeOptions(seed=16))
    checks = by_id(graded)
    first = code.splitlines().index("def f(a):") + 1
    for check_id in ("f-values", "gradient"):
        check = checks["vector-control-flow"][check_id]
        assert (check.status, check.score) == ("failed", 0)
        assert check.hint.key == "redefined_hint"
        assert f"f is defined 2 times (cell 1, line {first}; cell 3, line 1)" in en(check.hint)
        assert "the last definition (cell 3, line 1) is the one every exercise uses" in en(check.hint)
        assert "own names" in en(check.hint) and "最后一个定义（第 3 个单元格第 1 行）" in zh(check.hint)
    assert graded.scorecard.exercises[1].score == 10  # exercise 5 itself is right
