"""Child side: import the submission, report what it defines, make the planned calls, report each.

Runs in the isolated child, after `grader.sandbox.zygote` has set up namespaces, user and limits.
Protocol (frames on private pipes, never stdout):
  grader -> child  hello {source, path, functions, attributes, watch, seed}
  child -> grader  module {ok, exception, functions, attributes}
  grader -> child  plan {calls: [...]}
  child -> grader  call {index, outcome, value | exception, grad, events, figures}  (one per call)
  child -> grader  done
"""

from __future__ import annotations

import inspect
import os
import random
import sys
import time
import types
from typing import Any

from grader.arguments import build_argument
from grader.sandbox.encode import encode_value, exception_info, safe_str
from grader.sandbox.instrument import Instrumentation, describe_figure, figures_drawn
from grader.wire import FrameDecoder, read_frame, write_frame

MODULE_NAME = "submission"


def _pristine_grad() -> Any:
    import torch

    return torch.autograd.grad


# Taken when the warm worker imports this module, before any submission runs: a submission that
# replaces torch.autograd.grad does not get to compute the gradient reported for its own function.
AUTOGRAD_GRAD = _pristine_grad()


class Runner:
    """One child's conversation with the grader."""

    def __init__(self, commands_fd: int, observations_fd: int, workdir: str) -> None:
        self.commands_fd = commands_fd
        self.observations_fd = observations_fd
        self.workdir = workdir
        self.decoder = FrameDecoder()
        self.module: types.ModuleType | None = None
        self.last_args: list[Any] | None = None

    def run(self) -> None:
        """The whole conversation; returns when the plan is done."""
        hello = read_frame(self.commands_fd, self.decoder)
        path = os.path.join(self.workdir, hello["filename"])
        with open(path, "w", encoding="utf-8") as source_file:
            source_file.write(hello["source"])
        self.path = path
        self.instrumentation = Instrumentation(path, hello.get("watch", []))
        self.instrumentation.install()
        self._seed(int(hello["seed"]))
        report = self._import(hello["source"], hello.get("functions", []), hello.get("attributes", []))
        write_frame(self.observations_fd, report)
        if not report["ok"]:
            return
        plan = read_frame(self.commands_fd, self.decoder)
        for call in plan["calls"]:
            write_frame(self.observations_fd, self._call(call))
        write_frame(self.observations_fd, {"type": "done"})

    @staticmethod
    def _seed(seed: int) -> None:
        import numpy as np
        import torch

        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    def _import(self, source: str, functions: list[str], attributes: list[str]) -> dict[str, Any]:
        module = types.ModuleType(MODULE_NAME)
        module.__file__ = self.path
        sys.modules[MODULE_NAME] = module
        sys.path.insert(0, self.workdir)
        try:
            code = compile(source, self.path, "exec")
            exec(code, module.__dict__)
        except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are the student's too
            return {"type": "module", "ok": False, "exception": exception_info(exc, self.path)}
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        import matplotlib.pyplot as plt

        plt.close("all")  # figures drawn at import time are not what a later call draws
        self.module = module
        return {
            "type": "module",
            "ok": True,
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
            args = [build_argument(arg) for arg in call["args"]]
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
            report["duration"] = time.perf_counter() - start
        sys.stdout.flush()
        sys.stderr.flush()
        if report["outcome"] == "returned":
            report["value"] = encode_value(value)
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
        try:
            (grad,) = AUTOGRAD_GRAD(value.sum(), leaf, allow_unused=True)
        except Exception as exc:  # noqa: BLE001 - the student's graph may be broken in any way
            return {"grad_error": "failed", "grad_message": safe_str(exc, 500)}
        if grad is None:
            return {"grad_error": "unused"}
        return {"grad": encode_value(grad)}


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
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        # The student's atexit handlers and finalizers must not run, nor get a say in the exit.
        os._exit(status)
