"""Feedback that teaches: the student's own traceback, notebooks, starter files, overlays, hints, Chinese."""

from __future__ import annotations

import ast
import json
import re
import struct
import textwrap

import nbformat
import numpy as np
import pytest
from pydantic import BaseModel

from conftest import by_id, en, run_cli, zh
from grader.grading import GradeOptions, grade_submission, save_attachments
from grader.hints import exception_hint, syntax_hint
from grader.i18n import Localized, msg
from grader.messages import MESSAGES
from grader.observations import ExceptionReport
from grader.overlay import OverlayCurve, OverlayText, cjk_family, render_overlay
from grader.reporters import json_report, text
from grader.scorecard import CheckResult, ExerciseResult, Scorecard, TraceFrame
from grader.source import load_submission
from grader.spec.loader import load_exercises
from grader.starter import render_starter

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ZH_TITLES = ["为什么计算二阶导数比一阶导数的开销更大？", "运行两次 backward()", "输入为向量或矩阵的控制流示例",
             "设计你自己的控制流示例", "不使用 cos，画出 sin 及其导数"]


def only(builtin, *ids):
    """The built-in exercises with these ids."""
    return [e for e in builtin if e.spec.id in ids]


def notebook(path, *cells):
    """Write a notebook whose cells are given as ("code" | "markdown", source)."""
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(src) if kind == "code" else nbformat.v4.new_markdown_cell(src)
                  for kind, src in cells]
    nbformat.write(book, str(path))
    return path


# -- the student's own traceback ------------------------------------------------------------------

NESTED = """\
import torch
import matplotlib.pyplot as plt

def derivative(x):
    x = x.detach().clone().requires_grad_(True)
    return torch.dot(x, x.float())

def plot_sin_and_grad(x):
    plt.plot(x, derivative(x))
"""


def test_a_traceback_shows_only_the_students_frames_and_ends_at_their_line(grade_source, builtin):
    graded = grade_source(NESTED, only(builtin, "sin-derivative-plot"))
    plot = by_id(graded)["sin-derivative-plot"]["plot"]
    assert plot.status == "error" and "same dtype" in en(plot.message)
    assert [(f.function, f.line, f.text) for f in plot.traceback] == [
        ("plot_sin_and_grad", 9, "plt.plot(x, derivative(x))"),
        ("derivative", 6, "return torch.dot(x, x.float())"),
    ]  # torch's own frames are cut
    assert "float64" in en(plot.hint) and "dtype=x.dtype" in en(plot.hint)
    report = text.render(graded.scorecard)
    block = report[report.index("Traceback (your code only"):]
    assert 'File "' + graded.scorecard.submission + '", line 9, in plot_sin_and_grad' in block
    last_file_line = [line for line in block.splitlines() if "File " in line][1]
    assert last_file_line.strip().endswith("line 6, in derivative")
    card = json.loads(json_report.render(graded.scorecard))
    plot_json = next(c for e in card["exercises"] for c in e["checks"] if c["id"] == "plot")
    assert plot_json["traceback"][-1] == {"line": 6, "cell": None, "function": "derivative",
                                          "text": "return torch.dot(x, x.float())"}


def test_repeated_frames_of_a_recursion_are_counted_not_listed():
    frames = [TraceFrame(line=3, function="g", text="return g(x)")] * 10 + [TraceFrame(line=2, function="g", text="raise")]
    check = CheckResult(id="c", kind="compare", status="error", score=0, max_score=1, message="m", traceback=frames)
    card = Scorecard(submission="s.py", score=0, max_score=1,
                     exercises=[ExerciseResult(id="e", title="E", score=0, max_score=1, checks=[check])])
    report = text.render(card)
    assert report.count('File "s.py", line 3, in g') == 3
    assert "[Previous line repeated 7 more times]" in report
    assert report.index("repeated 7") < report.index('File "s.py", line 2, in g')


def test_notebook_errors_point_at_the_cell_and_the_line_within_it(tmp_path, sandbox, builtin):
    path = notebook(
        tmp_path / "work.ipynb",
        ("markdown", "# Exercise 3"),
        ("code", "import torch"),
        ("code", "%matplotlib inline\ndef helper(a):\n    return a.numpy_please()"),
        ("code", "def grad_f(a):\n    return helper(a)"),
    )
    graded = grade_submission(path, only(builtin, "vector-control-flow"), sandbox, GradeOptions(seed=4))
    gradient = by_id(graded)["vector-control-flow"]["gradient"]
    assert (gradient.cell, gradient.line) == (3, 3)
    assert [(f.cell, f.line, f.function) for f in gradient.traceback] == [(4, 2, "grad_f"), (3, 3, "helper")]
    assert f'File "{path}", cell 3, line 3, in helper' in text.render(graded.scorecard)


def test_a_syntax_error_in_a_notebook_names_the_cell_and_shows_a_caret(tmp_path, sandbox, builtin):
    path = notebook(tmp_path / "broken.ipynb", ("code", "!pip install torch\nimport torch"),
                    ("code", "def f(a):\n    return a +\n"))
    card = grade_submission(path, only(builtin, "vector-control-flow"), sandbox, GradeOptions(seed=4)).scorecard
    assert card.score == 0 and (card.error_cell, card.error_line) == (2, 2)
    assert "(cell 2, line 2)" in en(card.error) and "return a +\n" in en(card.error) and en(card.error).endswith("^")


def test_a_hidden_check_withholds_the_traceback(tmp_path, sandbox):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "demo.yaml").write_text(textwrap.dedent("""\
        id: demo
        title: {en: Demo, zh: 示例}
        reference: null
        functions:
          h: {signature: (x), summary: {en: must raise RuntimeError, zh: 必须抛出 RuntimeError}}
        inputs:
          x: {kind: tensor, shape: [3]}
        calls:
          once: {function: h, args: [x]}
        checks:
          - {id: shown, kind: raises, calls: once, exception: RuntimeError, points: 1}
          - {id: secret, kind: raises, calls: once, exception: RuntimeError, points: 1, visibility: hidden}
        """))
    submission = tmp_path / "sub.py"
    submission.write_text("def h(x):\n    return x.numpy_please()\n")
    exercises = load_exercises(specs)
    for show_hidden in (False, True):
        checks = by_id(grade_submission(submission, exercises, sandbox, GradeOptions(seed=1, show_hidden=show_hidden)))["demo"]
        assert [f.line for f in checks["shown"].traceback] == [2]
        assert [f.line for f in checks["secret"].traceback] == ([2] if show_hidden else [])
        assert checks["secret"].score == checks["shown"].score == 0


# -- starter files --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_starter_defines_every_function_with_its_signature_and_summary(builtin, lang):
    source = render_starter([e.spec for e in builtin], lang)
    tree = ast.parse(source)
    defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    wanted = {name: fn for e in builtin for name, fn in e.spec.functions.items()}
    assert set(defined) == set(wanted) and len(wanted) == 12
    for name, spec in wanted.items():
        node = defined[name]
        assert f"({ast.unparse(node.args)})" == spec.signature
        assert "".join(ast.get_docstring(node).split()).lower() == "".join(spec.summary.get(lang).split()).lower()
        assert isinstance(node.body[-1], ast.Raise) and ast.unparse(node.body[-1]) == "raise NotImplementedError"
    assert "# G_DOMAIN = (-10.0, 10.0)" in source and '# WHY_SECOND_DERIVATIVE_COSTS_MORE = "..."' in source
    for exercise in builtin:
        assert exercise.spec.title.get(lang) in source


def test_a_graded_starter_scores_zero_with_not_implemented_everywhere(tmp_path, sandbox, builtin):
    path = tmp_path / "starter.py"
    path.write_text(render_starter([e.spec for e in builtin], "en"))
    card = grade_submission(path, builtin, sandbox, GradeOptions(seed=8)).scorecard
    assert card.score == 0 and card.max_score == 50 and card.error is None
    for exercise in card.exercises:
        for check in exercise.checks:
            if check.graded:  # the cosine and "derived by hand" checks too: a stub has done nothing
                assert check.status == "error" and "raised NotImplementedError" in en(check.message), (exercise.id, check.id)
                assert "replace its `raise NotImplementedError`" in en(check.hint)
                assert check.traceback[-1].text == "raise NotImplementedError"


def test_grade_starter_writes_a_file_that_grades_in_chinese(tmp_path):
    path = tmp_path / "mine.py"
    written = run_cli("--starter", str(path), "--lang", "zh")
    assert written.returncode == 0, written.stderr
    assert f"已写入 {path}" in written.stdout and "12 个函数" in written.stdout
    assert "def second_derivative(f, x):" in path.read_text(encoding="utf-8")
    again = run_cli("--starter", str(path))
    assert again.returncode == 2 and "already exists" in again.stderr  # a student's work is never overwritten
    graded = run_cli(str(path), "--lang", "zh", "--seed", "1")
    assert graded.returncode == 1, graded.stderr
    assert "0/50 分" in graded.stdout.splitlines()[0]
    for title in ZH_TITLES:
        assert title in graded.stdout
    assert "提示：这个函数还只是占位代码" in graded.stdout and "回溯（只显示你的代码" in graded.stdout
    assert run_cli().returncode == 2  # without --starter, something to grade is required


# -- pictures -------------------------------------------------------------------------------------

PLOT = """\
import torch
import matplotlib.pyplot as plt

def plot_sin_and_grad(x):
    x = x.detach().clone().requires_grad_(True)
    y = torch.sin(x)
    y.sum().backward()
    plt.plot(x.detach(), y.detach(), label="sin")
    plt.plot(x.detach(), -x.grad, label="$-\\\\cos$ by mistake")
    plt.legend()
"""


def test_the_figure_is_saved_beside_a_reference_overlay_only_when_files_are_wanted(grade_source, builtin, tmp_path):
    unwanted = grade_source(PLOT, only(builtin, "sin-derivative-plot"))
    assert [a.kind for a in unwanted.attachments[("sin-derivative-plot", "plot")]] == ["overlay"]  # no PNG rendered
    graded = grade_source(PLOT, only(builtin, "sin-derivative-plot"), keep_figures=True)
    attachments = graded.attachments[("sin-derivative-plot", "plot")]
    overlay = next(a for a in attachments if a.kind == "overlay")
    assert overlay.data == b"" and overlay.render is not None  # nothing drawn unless saved
    card = save_attachments(graded, tmp_path / "artifacts")
    plot = by_id(type(graded)(card))["sin-derivative-plot"]["plot"]
    assert plot.status == "failed"
    assert sorted(a.kind for a in plot.artifacts) == ["figure", "overlay"]
    for artifact in plot.artifacts:
        data = open(artifact.path, "rb").read()
        assert data.startswith(PNG_MAGIC)
        assert artifact.path in text.render(card)
    overlay_file = next(a.path for a in plot.artifacts if a.kind == "overlay")
    assert overlay_file.endswith("sin-derivative-plot.plot.plot_sin_and_grad.overlay.png")
    width, height = struct.unpack(">II", open(overlay_file, "rb").read()[16:24])
    assert (width, height) == (800, 450)


def test_an_overlay_survives_odd_curves_and_falls_back_to_english_without_a_chinese_font():
    grid = np.linspace(-3, 3, 50)
    expected = [OverlayCurve(grid, np.sin(grid))]
    drawn = [OverlayCurve(grid, np.where(grid > 0, np.nan, grid)), OverlayCurve(grid[:10], grid[:10] ** 2, scatter=True),
             OverlayCurve(np.arange(200_000.0), np.ones(200_000))]
    english = OverlayText("title", ("expected: sin",), ("$\\frac{broken", "dots", "long"))
    chinese = OverlayText("标题", ("期望：sin",), ("$\\frac{broken", "点", "长"))
    png = render_overlay(drawn, expected, [chinese, english])
    assert png.startswith(PNG_MAGIC)
    if cjk_family() is None:
        assert png == render_overlay(drawn, expected, [english])  # no boxes for missing glyphs: English instead
    else:
        assert png != render_overlay(drawn, expected, [english])


# -- hints and languages --------------------------------------------------------------------------

MISTAKES = """\
import torch

def f(a):
    b = a * 2
    if b > 0:
        return b
    return 100 * b

def grad_f(a):
    a = a.detach().clone().requires_grad_(True)
    f(a).backward()
    return a.grad

def backward_nonscalar(a):
    return f(a)
"""


def test_hints_speak_chinese_and_never_change_a_score(grade_source, builtin):
    exercises = only(builtin, "vector-control-flow")
    english = by_id(grade_source(MISTAKES, exercises, lang="en"))["vector-control-flow"]
    chinese = by_id(grade_source(MISTAKES, exercises, lang="zh"))["vector-control-flow"]
    assert [(c.status, c.score) for c in english.values()] == [(c.status, c.score) for c in chinese.values()]
    assert en(english["f-values"].hint) == MESSAGES["ambiguous_condition_hint"]["en"]
    assert zh(chinese["f-values"].hint) == MESSAGES["ambiguous_condition_hint"]["zh"]
    assert zh(chinese["nonscalar-backward-fails"].hint).startswith("对向量或矩阵 a 不带参数调用")  # the spec's own hint
    assert zh(chinese["gradient"].title) == "grad_f 在各种形状和分支上都与自动微分一致"


def _localized(value, path):
    if isinstance(value, Localized):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _localized(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _localized(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _localized(item, f"{path}.{key}")


def _formula(text: str) -> bool:
    """`sin(x)`, `f'(x)`: no word of four letters or more, nothing to translate."""
    return re.search(r"[A-Za-z]{4,}", text) is None


def test_every_text_of_the_builtin_exercises_has_both_languages(builtin):
    found = [(path, text) for e in builtin for path, text in _localized(e.spec, e.spec.id)]
    assert len(found) > 60  # titles, descriptions, summaries, hints, labels, curve names, feedback
    untranslated = [path for path, text in found if not (text.en.strip() and ((text.zh or "").strip() or _formula(text.en)))]
    assert untranslated == []
    assert _formula("sin(x)") and not _formula("its derivative")


def report(type_name, message):
    return ExceptionReport(type=type_name, module="builtins", message=message, origin="library", frames=[])


@pytest.mark.parametrize("type_name, message, key", [
    ("NotImplementedError", "", "stub_hint"),
    ("RuntimeError", "a leaf Variable that requires grad is being used in an in-place operation.", "inplace_leaf_hint"),
    ("RuntimeError", "The differentiated Tensor at index 0 appears to not have been used in the graph.", "unused_input_hint"),
    ("RuntimeError", "only Tensors of floating point dtype can require gradients", "integer_requires_grad_hint"),
    ("RuntimeError", "Boolean value of Tensor with more than one value is ambiguous", "ambiguous_condition_hint"),
    ("RuntimeError", "expected m1 and m2 to have the same dtype, but got: float != double", "mixed_dtype_hint"),
    ("AttributeError", "'NoneType' object has no attribute 'next_functions'", "grad_fn_none_hint"),
    ("AttributeError", "'NoneType' object has no attribute 'zero_'", "zero_before_backward_hint"),
    ("RecursionError", "maximum recursion depth exceeded", "recursion_hint"),
    ("RuntimeError", "grad can be implicitly created only for real scalar outputs", "nonscalar_backward_hint"),
])
def test_exception_hints_name_the_fix(type_name, message, key):
    hint = exception_hint(report(type_name, message))
    assert hint.key == key  # analytics count hints by this id
    assert en(hint) == MESSAGES[key]["en"]
    assert zh(hint) == MESSAGES[key]["zh"]


def test_a_name_used_before_its_import_gets_the_import_line():
    hint = exception_hint(report("NameError", "name 'np' is not defined"))
    assert "`import numpy as np`" in en(hint)
    assert exception_hint(report("NameError", "name 'my_helper' is not defined")) is None
    assert exception_hint(report("RuntimeError", "something else entirely")) is None


@pytest.mark.parametrize("line, message, needle", [
    ("plot(x, y, ‘x’, ‘y’)", "invalid character '‘' (U+2018)", "straight quotes"),
    ("f(1，2)", "invalid character '，' (U+FF0C)", "full-width punctuation (，)"),
    ("x = 1\u00a0+ 2", "invalid non-printable character U+00A0", "not a plain space"),
    ("\tx = 1", "inconsistent use of tabs and spaces in indentation", "tabs and spaces"),
])
def test_lines_python_cannot_read_get_a_hint(line, message, needle):
    hint = syntax_hint(line, msg("where_line", line=3), message)
    assert needle in en(hint) and "at line 3" in en(hint)
    assert zh(hint).startswith("第 3 行")
    assert syntax_hint("x = (1", msg("where_line", line=3), "'(' was never closed") is None


def test_notebook_magics_help_and_shell_assignments_are_skipped_keeping_lines(tmp_path):
    path = notebook(tmp_path / "nb.ipynb",
                    ("code", "files = !ls\ntorch.sin?\n??torch\nx = 1"),
                    ("markdown", "text"),
                    ("code", "%%bash\nls -l\necho hi"),
                    ("code", "%%time\ny = x + 1"))
    submission = load_submission(path)
    lines = submission.source.splitlines()
    ast.parse(submission.source)
    assert lines[0].startswith("files = None") and lines[1].startswith("pass") and lines[2].startswith("pass")
    assert lines[3] == "x = 1" and lines[-1] == "y = x + 1"
    assert submission.locate(len(lines)) == (4, 2) and submission.display_line(4) == "cell 1, line 4"
