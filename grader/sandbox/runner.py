"""Child side: import the submission, report what it defines, make the planned calls, report each.

Runs in the isolated child, after `grader.sandbox.zygote` has set up namespaces, user and limits.
Protocol (frames on private pipes, never stdout):
  grader -> child  hello {source, filename, functions, attributes, watch, seed, marker}
  child -> grader  module {ok, errors, functions, attributes}
  grader -> child  plan {calls: [...]}
  child -> grader  call {index, outcome, value | exception, grad, events, figures}  (one per call)
  child -> grader  done
After the import and after each call the child writes a marker into its output stream, so that
the grader splits what was printed by what printed it (`grader.sandbox.output`).
"""

from __future__ import annotations

import __future__
import ast
import inspect
import os
import random
import sys
import time
import types
from typing import Any

from grader.arguments import build_argument
from grader.sandbox import autograd_watch, standins, student_warnings
from grader.sandbox.encode import encode_value, exception_info, safe_str
from grader.sandbox.instrument import Instrumentation, describe_figure, figures_drawn
from grader.sandbox.output import marker
from grader.wire import FrameDecoder, read_frame, write_frame

MODULE_NAME = "submission"


def _pristine_grad() -> Any:
    import torch

    return torch.autograd.grad


# Taken when the warm worker imports this module, before any submission runs: a submission that
# replaces torch.autograd.grad does not get to compute the gradient reported for its own function.
AUTOGRAD_GRAD = _pristine_grad()


MAX_TOP_LEVEL_ERRORS = 20
"""Top-level statements that raised, reported one by one; the rest are counted."""


def child_environment(workdir: str) -> dict[str, str]:
    """The environment the submission runs with: nothing of the grader's, its own home and temporary directory."""
    env = {
        "HOME": workdir, "TMPDIR": workdir, "TEMP": workdir, "TMP": workdir, "PATH": os.defpath,
        "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": workdir, "OMP_NUM_THREADS": "1",
        "USER": "student", "LOGNAME": "student",  # the job's user has no passwd entry (getpass)
    }
    for name in ("SYSTEMROOT", "WINDIR", "PATH") if os.name == "nt" else ():
        if name in os.environ:  # Windows cannot start Python or load DLLs without these
            env[name] = os.environ[name]
    return env


def _future_flags(statements: list[ast.stmt]) -> tuple[int, int]:
    """Compiler flags of the leading `from __future__ import ...` statements, and how many there are."""
    flags, count = 0, 0
    for statement in statements:
        if not (isinstance(statement, ast.ImportFrom) and statement.module == "__future__"):
            break
        count += 1
        for alias in statement.names:
            feature = getattr(__future__, alias.name, None)
            flags |= getattr(feature, "compiler_flag", 0)
    return flags, count


class Runner:
    """One child's conversation with the grader."""

    def __init__(self, commands_fd: int, observations_fd: int, workdir: str) -> None:
        self.commands_fd = commands_fd
        self.observations_fd = observations_fd
        self.workdir = workdir
        self.decoder = FrameDecoder()
        self.module: types.ModuleType | None = None
        self.last_args: list[Any] | None = None
        self.marker = b""

    def run(self) -> None:
        """The whole conversation; returns when the plan is done."""
        hello = read_frame(self.commands_fd, self.decoder)
        path = os.path.join(self.workdir, hello["filename"])
        with open(path, "w", encoding="utf-8") as source_file:
            source_file.write(hello["source"])
        self.path = path
        self.marker = marker(str(hello.get("marker", "")))
        standins.install()
        self.instrumentation = Instrumentation(path, hello.get("watch", []))
        self.instrumentation.install()
        student_warnings.install(path)
        hide_grader()
        self._seed(int(hello["seed"]))
        report = self._import(hello["source"], hello.get("functions", []), hello.get("attributes", []))
        self._mark()
        write_frame(self.observations_fd, report)
        if not report["ok"]:
            return
        plan = read_frame(self.commands_fd, self.decoder)
        for call in plan["calls"]:
            report = self._call(call)
            self._mark()
            write_frame(self.observations_fd, report)
        write_frame(self.observations_fd, {"type": "done"})

    def _mark(self) -> None:
        """End the current piece of output: what was printed so far belongs to what just ran."""
        _flush_streams()
        try:
            os.write(1, self.marker)
        except OSError:
            pass  # the submission closed its output; the grader then withholds what follows

    @staticmethod
    def _seed(seed: int) -> None:
        import numpy as np
        import torch

        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    def _import(self, source: str, functions: list[str], attributes: list[str]) -> dict[str, Any]:
        """Run the submission's top-level statements one by one, as a notebook runs its cells with errors allowed.

        A statement that raises is reported and the next one runs, so that a failing demo line or an
        import of something not installed costs only what depends on it; `sys.exit()` stops the rest.
        """
        module = types.ModuleType(MODULE_NAME)
        module.__file__ = self.path
        sys.modules[MODULE_NAME] = module
        sys.path.insert(0, self.workdir)
        errors: list[dict[str, Any]] = []
        failed = 0
        try:
            tree = compile(source, self.path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
            flags, futures = _future_flags(tree.body)
            chunks = [tree.body[:futures]] if futures else []
            chunks += [[statement] for statement in tree.body[futures:]]
            codes = [compile(ast.Module(body=chunk, type_ignores=[]), self.path, "exec", flags, dont_inherit=True)
                     for chunk in chunks]
        except BaseException as exc:  # noqa: BLE001 - the grader parsed it; a child that cannot is broken
            return {"type": "module", "ok": False, "exception": exception_info(exc, self.path)}
        stopped = False
        for code in codes:
            try:
                exec(code, module.__dict__)
            except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are the student's too
                failed += 1
                if len(errors) < MAX_TOP_LEVEL_ERRORS:
                    errors.append(exception_info(exc, self.path))
                if isinstance(exc, (SystemExit, KeyboardInterrupt)):
                    stopped = True
                    break
        _flush_streams()
        import matplotlib.pyplot as plt

        plt.close("all")  # figures drawn at import time are not what a later call draws
        self.module = module
        return {
            "type": "module",
            "ok": True,
            "errors": errors,
            "errors_total": failed,
            "stopped": stopped,
            "functions": {name: self._describe_function(module, name) for name in functions},
            "attributes": {
                name: encode_value(module.__dict__[name]) for name in attributes if name in module.__dict__
            },
        }

    def _describe_function(self, module: types.ModuleType, name: str) -> dict[str, Any]:
        if name not in module.__dict__:
            return {"defined": False}
        obj = module.__dict__[name]
        description: dict[str, Any] = {"defined": True, "callable": callable(obj)}
        code = getattr(obj, "__code__", None)
        if isinstance(code, types.CodeType) and code.co_filename == self.path:
            description["line"] = code.co_firstlineno
        try:
            description["signature"] = safe_str(inspect.signature(obj), 300)
        except (TypeError, ValueError):
            pass
        return description

    def _call(self, call: dict[str, Any]) -> dict[str, Any]:
        report: dict[str, Any] = {"type": "call", "index": call["index"]}
        function = self.module.__dict__.get(call["function"]) if self.module else None
        if not callable(function):
            return {**report, "outcome": "missing"}
        # A repeated call gets the same objects, as when a student calls grad_f(x) twice on one x:
        # that is what reveals gradients accumulating in x.grad between calls.
        if call.get("reuse_args") and self.last_args is not None:
            args = list(self.last_args)
        else:
            try:
                args = [build_argument(arg) for arg in call["args"]]
            except BaseException as exc:  # noqa: BLE001 - an instructor's input expression may raise on some draws
                # The exercise's mistake, not the student's: said so, and the conversation goes on.
                info = {**exception_info(exc, self.path), "origin": "exercise", "frames": []}
                return {**report, "outcome": "raised", "exception": info}
        leaf = None
        if call.get("grad"):
            position = next((i for i, a in enumerate(call["args"]) if a["kind"] == "tensor"), None)
            if position is not None:
                leaf = args[position] = args[position].detach().clone().requires_grad_(True)
        self.last_args = list(args)
        capture = set(call.get("capture", []))
        with self.instrumentation.observe(capture) as recorder:
            start = time.perf_counter()
            try:
                value = function(*args)
                report["outcome"] = "returned"
            except BaseException as exc:  # noqa: BLE001 - everything the student raises is an observation
                value = None
                report["outcome"] = "raised"
                report["exception"] = exception_info(exc, self.path)
                if report["exception"]["origin"] == "library" and recorder.log.raised_inside(exc):
                    # This very exception came out of a backward()/grad run: autograd's own failure,
                    # not one a student provoked elsewhere in torch (torch._check) to look like it.
                    report["exception"]["origin"] = "autograd"
            report["duration"] = time.perf_counter() - start
        _flush_streams()
        if report["outcome"] == "returned":
            report["value"] = encode_value(value)
            report["provenance"] = autograd_watch.provenance(value, recorder.log)
            if leaf is not None:
                report.update(self._gradient(value, leaf))
        report["events"] = recorder.events()
        if recorder.figures is not None:
            report["events"]["figures"] = [describe_figure(f, render_png="png" in capture) for f in figures_drawn(recorder)]
            import matplotlib.pyplot as plt

            plt.close("all")
        return report

    @staticmethod
    def _gradient(value: Any, leaf: Any) -> dict[str, Any]:
        """The autograd gradient of the returned value, summed, with respect to the input."""
        import torch

        if type(value) is not torch.Tensor:
            return {"grad_error": "not_tensor"}
        if not value.requires_grad:
            return {"grad_error": "no_graph"}
        signature = autograd_watch.graph_signature(value)
        try:
            (grad,) = AUTOGRAD_GRAD(value.sum(), leaf, allow_unused=True)
        except Exception as exc:  # noqa: BLE001 - the student's graph may be broken in any way
            return {"grad_error": "failed", "grad_message": safe_str(exc, 500)}
        if grad is None:
            return {"grad_error": "unused", "graph_signature": signature}
        return {"grad": encode_value(grad), "graph_signature": signature}


class _NoGrader:
    """A finder that refuses the grader's own modules to the submission."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> None:
        """Refuse `grader` and its submodules."""
        if name == "grader" or name.startswith("grader."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def hide_grader() -> None:
    """Take the grader's modules out of the submission's reach: `import grader...` finds nothing.

    Everything the child needs is imported and bound already. A submission could still dig the
    recorder out of the interpreter's memory (its frames, the garbage collector): what the child
    reports stays an observation, as docs/architecture.md says.
    """
    for name in [n for n in sys.modules if n == "grader" or n.startswith("grader.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, _NoGrader)  # type: ignore[arg-type]


def _flush_streams() -> None:
    """Push what Python buffered to the output pipe; the submission may have replaced or closed the streams."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()  # type: ignore[union-attr]
        except BaseException:  # noqa: BLE001 - a student's stream object may raise anything
            pass


CONVERSATION_BROKEN = 75
"""Exit status of a child whose conversation with the grader broke (its channel closed, say)."""


def child_main(commands_fd: int, observations_fd: int, workdir: str) -> None:
    """Entry point of the child once isolated: converse, then leave without running exit handlers."""
    status = 0
    try:
        Runner(commands_fd, observations_fd, workdir).run()
    except BaseException:  # noqa: BLE001 - whatever broke it, the grader sees the exit status, not our traceback
        status = CONVERSATION_BROKEN
    finally:
        _flush_streams()
        # The student's atexit handlers and finalizers must not run, nor get a say in the exit.
        os._exit(status)
