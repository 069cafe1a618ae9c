"""Starter files: one stub per function the exercises ask for, generated from their specs.

Each stub has the exact signature of the spec, the spec's summary as its docstring (in the
chosen language) and a body that raises NotImplementedError, which the grader recognises as
"not written yet". Optional module-level values are written commented out, with their example.
When the exercises come from a directory of their own (`grade --exercises DIR`), the command the
file tells students to run names that directory too.
"""

from __future__ import annotations

import re
import shlex

from grader.i18n import Lang
from grader.messages import tr
from grader.spec.models import ExerciseBase

WIDTH = 96
"""Column at which comments and docstrings wrap."""
_RULE = "# " + "-" * (WIDTH - 2)
_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
"""Chinese characters and full-width punctuation: two columns each, and no spaces between them."""
_SPACE_BETWEEN_WIDE = re.compile(f"(?<=[{_WIDE}])\\s+(?=[{_WIDE}])")
_IS_WIDE = re.compile(f"[{_WIDE}]")
_TOKEN = re.compile(f"`[^`]*`|[{_WIDE}]|[^\\s{_WIDE}]+|\\s+")
"""A code span (kept whole, so a command is never broken across lines), a wide character, a word, a space."""
_NO_BREAK_BEFORE = set("，。、：；！？）》」』")
"""Punctuation that must not start a line."""
_PLAIN_WORD = re.compile(r"^[a-z]{2,}\b(?![(.\[_])")


def _flow(text: str) -> str:
    """One paragraph: line breaks of the YAML folded into spaces, but none left between Chinese characters."""
    return _SPACE_BETWEEN_WIDE.sub("", " ".join(text.split()))


def _columns(text: str) -> int:
    return sum(2 if _IS_WIDE.match(c) else 1 for c in text)


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most about `width` columns, broken at spaces or between Chinese characters, never inside a word."""
    lines: list[str] = []
    current = ""
    for token in _TOKEN.findall(text):
        if token.isspace():
            current += " " if current else ""
            continue
        if current and _columns(current) + _columns(token) > width and token not in _NO_BREAK_BEFORE:
            lines.append(current.rstrip())
            current = ""
        current += token
    if current.strip():
        lines.append(current.rstrip())
    return lines


def _comment(text: str) -> list[str]:
    """Text as `# ` lines, wrapped."""
    return ["# " + line for line in _wrap(_flow(text), WIDTH - 2)] or ["#"]


def _docstring(summary: str) -> list[str]:
    """A docstring body that Python reads back as the summary, wrapped, a first plain word capitalised."""
    text = _flow(summary)
    if _PLAIN_WORD.match(text):  # "returns ..." reads better as "Returns ...", but "f(a).sum()" must stay
        text = text[:1].upper() + text[1:]
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.endswith('"'):
        text += " "  # a quote just before the closing quotes would end the string early
    lines = _wrap(text, WIDTH - 7) or [""]
    if len(lines) == 1:
        return [f'    """{lines[0]}"""']
    return [f'    """{lines[0]}'] + [f"    {line}" for line in lines[1:]] + ['    """']


def _needs_pyplot(exercises: list[ExerciseBase]) -> bool:
    return any(getattr(check, "kind", None) == "plot" for exercise in exercises for check in exercise.checks)


def function_count(exercises: list[ExerciseBase]) -> int:
    """How many distinct functions a starter file for these exercises has stubs for."""
    return len({name for exercise in exercises for name in exercise.functions})


def next_step(lang: Lang, key: str, exercises_dir: str | None, **params: object) -> str:
    """A sentence that ends with the `grade` command to run: with `--exercises DIR` when the exercises came from one."""
    if exercises_dir is None:
        return tr(lang, key, **params)
    return tr(lang, f"{key}_exercises", directory=shlex.quote(exercises_dir), **params)


def render_starter(exercises: list[ExerciseBase], lang: Lang, file_name: str = "solution.py",
                   exercises_dir: str | None = None) -> str:
    """The text of a starter file for these exercises, in their order, with comments in `lang`.

    `exercises_dir`: the directory given with `--exercises`, which the command to run must name too.
    """
    lines = [*_comment(next_step(lang, "starter_header", exercises_dir, file=shlex.quote(file_name))), ""]
    lines.append("import torch")
    if _needs_pyplot(exercises):
        lines.append("import matplotlib.pyplot as plt")
    written: set[str] = set()
    for number, exercise in enumerate(exercises, start=1):
        lines += ["", "", _RULE, f"# {number}. [{exercise.id}] {exercise.title.get(lang)}"]  # a heading: never wrapped
        if exercise.description is not None:
            lines += ["#", *_comment(exercise.description.get(lang))]
        lines.append(_RULE)
        for name, variable in exercise.variables.items():
            lines += ["", *_comment(tr(lang, "starter_optional", summary=variable.summary.get(lang)))]
            lines.append(f"# {name} = {variable.example if variable.example is not None else '...'}")
        for name, function in exercise.functions.items():
            if name in written:  # two exercises of one set may share a function; define it once
                continue
            written.add(name)
            lines += ["", "", f"def {name}{function.signature}:", *_docstring(function.summary.get(lang)),
                      "    raise NotImplementedError"]
    return "\n".join(lines) + "\n"
