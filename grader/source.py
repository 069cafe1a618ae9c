"""Submissions as source text: a Python file as is, a notebook as its code cells in order.

For notebooks, IPython magics (`%...`, `%%...`), shell lines (`!...`) and help (`x?`) become
`pass` (and `files = !ls` becomes `files = None`) so that line numbers stay put, and every line of
the resulting script knows its cell and line there.
"""

from __future__ import annotations

import ast
import errno
import io
import os
import re
import stat
import threading
import tokenize
import warnings
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from grader.i18n import Msg, msg

# Cell magics whose body is still Python; any other cell magic makes the whole cell non-Python.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
_MAGIC = re.compile(r"^(\s*)(%|!)")
# `files = !ls` and `t = %timeit -o f(x)`: IPython assigns a shell's or a magic's output.
_ASSIGNED_MAGIC = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(%|!)")
# `x?`, `??x`, `torch.autograd.grad?`: IPython's help, which Python cannot read.
_HELP = re.compile(r"^(\s*)(\?{1,2}[A-Za-z_][\w.]*|[A-Za-z_][\w.]*\?{1,2})\s*$")

# CPython 3.11 counts the depth of the AST it builds in one counter per interpreter, not per
# thread: two threads parsing at once (a batch's grading threads, a Dask worker's task threads)
# can make either fail with "SystemError: AST constructor recursion depth mismatch" (gh-106905).
_PARSE_LOCK = threading.Lock()


def parse(source: str, filename: str = "<unknown>", mode: str = "exec") -> Any:
    """`ast.parse`, one thread at a time (see _PARSE_LOCK)."""
    with _PARSE_LOCK:
        return ast.parse(source, filename=filename, mode=mode)


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
    decode_error: Msg | None = None
    """Why the file could not be read as a submission (a catalogue message), when it could not."""

    @cached_property
    def tree(self) -> ast.Module:
        """The parsed source; raises SyntaxError."""
        return parse(self.source, filename=self.display)

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


MAX_FILE_BYTES = 64 << 20
"""The largest submission file read (a notebook keeps its outputs, images included)."""
MAX_SOURCE_CHARS = 2_000_000
"""The most source code graded: far beyond any answer, and well inside what the child accepts."""


def _cell_source(cell: object) -> str | None:
    """A code cell's source as text, or None when the cell is not code or its source is not text.

    nbformat only logs a malformed cell (a null or numeric source, no cell_type), so it is checked here.
    """
    if not isinstance(cell, dict) or cell.get("cell_type") != "code":
        return None
    source = cell.get("source")
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    return source if isinstance(source, str) else None


def _notebook_script(data: bytes) -> tuple[str, tuple[tuple[int, int], ...]]:
    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns about its own format's details on stderr
            notebook = nbformat.reads(data.decode("utf-8-sig"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for a broken file
        raise UnreadableNotebook(str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__) from None
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise UnreadableNotebook("it has no list of cells")
    lines: list[str] = []
    where: list[tuple[int, int]] = []
    for number, cell in enumerate(cells, start=1):
        source = _cell_source(cell)
        if source is None:
            continue
        cell_lines = source.splitlines() or [""]
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


def read_file(path: Path) -> bytes:
    """The bytes of a submission: a regular file, opened without following a symbolic link.

    A link could make the grader read, with its own rights, a file the student may not (and then
    quote it in a message). OSError when it is not a regular file, is a link, or is too large.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if path.is_symlink():
        raise OSError(errno.ELOOP, "source_symlink")
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "source_not_regular")
        if info.st_size > MAX_FILE_BYTES:
            raise OSError(errno.EFBIG, "source_too_big")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_python(data: bytes) -> str:
    """Python source as Python reads it: UTF-8 (with or without BOM), or the encoding its PEP 263 cookie names."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode("utf-8-sig" if encoding in ("utf-8", "utf-8-sig") else encoding)


def load_submission(path: Path, display: str | None = None) -> Submission:
    """Read a `.py` file or an `.ipynb` notebook; SubmissionError when it does not exist at all."""
    display = display or str(path)
    kind = "notebook" if path.suffix == ".ipynb" else "python"
    if not path.exists() and not path.is_symlink():
        raise SubmissionError(f"{display}: no such file")
    try:
        data = read_file(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not path.is_symlink():
            problem = msg("source_symlink")  # O_NOFOLLOW refused a link made after the check
        elif isinstance(exc.strerror, str) and exc.strerror.startswith("source_"):
            problem = msg(exc.strerror, limit=MAX_FILE_BYTES >> 20)
        else:
            problem = msg("source_os_error", reason=str(exc.strerror or exc))
        return Submission(path, display, "", kind, () if kind == "notebook" else None, decode_error=problem)
    if kind == "notebook":
        try:
            source, cells = _notebook_script(data)
        except (UnreadableNotebook, UnicodeDecodeError) as exc:
            return Submission(path, display, "", "notebook", (), decode_error=msg("source_not_notebook", detail=str(exc)))
        submission = Submission(path, display, source, "notebook", cells)
    else:
        try:
            submission = Submission(path, display, decode_python(data), "python")
        except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
            if isinstance(exc, UnicodeDecodeError):
                problem = msg("source_not_text", byte=exc.start, reason=exc.reason)
            else:
                problem = msg("source_bad_encoding", detail=str(exc)[:200])
            return Submission(path, display, "", "python", decode_error=problem)
    if len(submission.source) > MAX_SOURCE_CHARS:
        return Submission(path, display, "", kind, submission.cells,
                          decode_error=msg("source_too_long", chars=len(submission.source), limit=MAX_SOURCE_CHARS))
    if not data.strip():
        return replace(submission, decode_error=msg("source_empty", size=len(data)))
    if not has_code(submission.source):
        key = "source_no_code_cells" if kind == "notebook" else "source_no_code"
        return replace(submission, decode_error=msg(key))
    return submission


_SKIPPED = "skipped by the grader"
"""The comment on the lines a notebook's magics and shell commands became (see `_notebook_script`)."""


def has_code(source: str) -> bool:
    """Whether the source holds a statement of its own: not only blank lines, comments, or skipped notebook magics.

    A file Python cannot parse has code (wrong code: the syntax error says so).
    """
    try:
        tree = parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    lines = source.splitlines()
    return any(not (0 < node.lineno <= len(lines) and lines[node.lineno - 1].rstrip().endswith(_SKIPPED))
               for node in tree.body)
