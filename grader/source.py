"""Submissions as source text: a Python file as is, a notebook as its code cells in order.

For notebooks, IPython magics (`%...`, `%%...`), shell lines (`!...`) and help (`x?`) become
`pass` (and `files = !ls` becomes `files = None`) so that line numbers stay put, and every line of
the resulting script knows its cell and line there.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

# Cell magics whose body is still Python; any other cell magic makes the whole cell non-Python.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
_MAGIC = re.compile(r"^(\s*)(%|!)")
# `files = !ls` and `t = %timeit -o f(x)`: IPython assigns a shell's or a magic's output.
_ASSIGNED_MAGIC = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(%|!)")
# `x?`, `??x`, `torch.autograd.grad?`: IPython's help, which Python cannot read.
_HELP = re.compile(r"^(\s*)(\?{1,2}[A-Za-z_][\w.]*|[A-Za-z_][\w.]*\?{1,2})\s*$")


class SubmissionError(Exception):
    """The submission does not exist (a usage error, not a graded outcome)."""


class UnreadableNotebook(Exception):
    """A `.ipynb` file that is not a notebook."""


@dataclass(frozen=True)
class Submission:
    """A submission's source and how its lines map back to what the student wrote."""

    path: Path
    display: str
    """The path as the user wrote it, for reports."""
    source: str
    kind: str
    """`python` or `notebook`."""
    cells: tuple[tuple[int, int], ...] | None = None
    """For notebooks: (cell number from 1, line in cell) of each script line."""
    decode_error: str | None = None

    @cached_property
    def tree(self) -> ast.Module:
        """The parsed source; raises SyntaxError."""
        return ast.parse(self.source, filename=self.display)

    @property
    def child_filename(self) -> str:
        """The file name the source gets in the child (tracebacks show it)."""
        return self.path.stem + ".py" if self.path.stem.isidentifier() else "submission.py"

    def locate(self, line: int | None) -> tuple[int | None, int | None]:
        """(cell, line within it) for notebooks, (None, line) for files."""
        if line is None or self.cells is None:
            return None, line
        if 1 <= line <= len(self.cells):
            return self.cells[line - 1]
        return None, line

    def display_line(self, line: int) -> str:
        """`12` for a file, `cell 3, line 2` for a notebook."""
        cell, within = self.locate(line)
        return f"cell {cell}, line {within}" if cell is not None else str(line)


def _notebook_script(path: Path) -> tuple[str, tuple[tuple[int, int], ...]]:
    import nbformat

    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for a broken file
        raise UnreadableNotebook(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    lines: list[str] = []
    where: list[tuple[int, int]] = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        cell_lines = cell.source.splitlines() or [""]
        first = cell_lines[0].strip()
        if first.startswith("%%") and first[2:].split()[0:1] and first[2:].split()[0] not in PYTHON_CELL_MAGICS:
            cell_lines = ["pass  # cell magic skipped by the grader"] + ["" for _ in cell_lines[1:]]
        for within, text in enumerate(cell_lines, start=1):
            assigned = _ASSIGNED_MAGIC.match(text)
            magic = _MAGIC.match(text) or _HELP.match(text)
            if assigned:
                text = f"{assigned.group(1)}{assigned.group(2)} = None  # IPython magic or shell line skipped by the grader"
            elif magic:
                text = f"{magic.group(1)}pass  # IPython magic or shell line skipped by the grader"
            lines.append(text)
            where.append((number, within))
    return "\n".join(lines) + "\n", tuple(where)


def load_submission(path: Path, display: str | None = None) -> Submission:
    """Read a `.py` file or an `.ipynb` notebook; SubmissionError when it cannot be read at all."""
    display = display or str(path)
    if not path.is_file():
        raise SubmissionError(f"{display}: no such file")
    if path.suffix == ".ipynb":
        try:
            source, cells = _notebook_script(path)
        except UnreadableNotebook as exc:
            return Submission(path, display, "", "notebook", (), decode_error=f"not a Jupyter notebook: {exc}")
        return Submission(path, display, source, "notebook", cells)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Submission(path, display, "", "python", decode_error=f"cannot be read: {exc.strerror}")
    try:
        return Submission(path, display, data.decode("utf-8-sig"), "python")
    except UnicodeDecodeError as exc:
        return Submission(path, display, "", "python", decode_error=f"not UTF-8 text (byte {exc.start}: {exc.reason})")
