"""The instructor's reference code, run in a trusted process of its own; the grader gets plain data back.

The grader itself never imports torch: the reference answers (instructor code computing the
expected results with autograd) run in a worker forked from the warm worker before any student
code (or, where there is no fork, a fresh interpreter), in an ordinary Python environment. It
imports each exercise's `reference.py` and answers requests on a private pipe:

  load {modules: {key: path}}             -> {functions: {key: [names]}, errors: {key: {type, message, line}}}
  calls {module, function, each: [[wire]]} -> {replies: [{value: <encoded value>} | {error: {type, message}}]}
                                             (one round trip for every call of a call set)
  inputs {args: [wire], on: [[wire] | null]}
                                          -> {errors: [null | {type, message}]}   (builds each argument once;
                                             a function argument is also called on each tensor of `on[i]`)
  resolve {names: [qualified name]}       -> {names: {name: null | {message, close: [name]}}}
                                             (does each exist, and can the child observe its calls?)

Arguments are the same plain data the child receives (`grader.arguments`), and values come back
in the child's own encoding, so the judge compares two observations. Nothing in this process
ever sees a submission.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
import threading
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from grader.wire import FrameDecoder, read_frame, write_frame

REPLY_TIMEOUT = 60.0
"""Seconds a reference computation may take before the exercise is declared broken."""


class ReferenceUnavailable(Exception):
    """The reference worker could not answer (it died, hung, or the protocol broke)."""


def _error(exc: BaseException, path: str | None = None) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)
    line = next((f.lineno for f in reversed(frames) if path and f.filename == path), None)
    if isinstance(exc, SyntaxError) and exc.lineno:
        line = exc.lineno
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "line": line}


class ReferenceServer:
    """The worker's side: the reference modules it imported and the requests it answers."""

    def __init__(self) -> None:
        self.modules: dict[str, ModuleType] = {}
        self.paths: dict[str, str] = {}

    def load(self, modules: dict[str, str]) -> dict[str, Any]:
        """Import each `reference.py` (once per key); its public functions, or why it failed."""
        functions: dict[str, list[str]] = {}
        errors: dict[str, dict[str, Any]] = {}
        for key, path in modules.items():
            if key not in self.modules:
                try:
                    self.modules[key] = _import(path, f"grader_reference_{len(self.modules)}")
                    self.paths[key] = path
                except BaseException as exc:  # noqa: BLE001 - instructor code: any failure is a spec problem
                    errors[key] = _error(exc, path)
                    continue
            module = self.modules[key]
            functions[key] = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        return {"functions": functions, "errors": errors}

    def call(self, module: str, function: str, args: list[dict[str, Any]]) -> dict[str, Any]:
        """The reference function's value on freshly built arguments, encoded as the child encodes values."""
        from grader.arguments import build_argument
        from grader.sandbox.encode import encode_value

        target: Callable[..., Any] | None = getattr(self.modules.get(module), function, None)
        if not callable(target):
            return {"error": {"type": "LookupError", "message": f"reference function {function!r} is not defined", "line": None}}
        try:
            built = [build_argument(arg) for arg in args]
            value = target(*built)
        except BaseException as exc:  # noqa: BLE001 - reported to the grader as the exercise's bug
            return {"error": _error(exc, self.paths.get(module))}
        return {"value": encode_value(value)}

    def inputs(self, args: list[dict[str, Any]], on: list[Any] | None = None) -> dict[str, Any]:
        """Build each argument once (spec expressions evaluated as the child will): None or why it failed.

        A function argument's expression runs only when the function is called: `on[i]` lists the
        tensors to call the i-th argument on, as the student will.
        """
        from grader.arguments import build_argument

        errors: list[dict[str, Any] | None] = []
        for position, arg in enumerate(args):
            try:
                built = build_argument(arg)
                for sample in (on[position] if on and position < len(on) and on[position] else []):
                    built(build_argument(sample))
                errors.append(None)
            except BaseException as exc:  # noqa: BLE001 - an instructor's expression may raise anything
                error = _error(exc)
                error["message"] += _attribute_suggestion(exc)
                errors.append(error)
        return {"errors": errors}

    def resolve(self, names: list[str]) -> dict[str, Any]:
        """For each qualified name, None when it is a function whose calls the child observes, else why not."""
        return {"names": {str(name): _resolve(str(name)) for name in names}}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request."""
        op = request.get("op")
        if op == "load":
            return self.load(dict(request.get("modules") or {}))
        if op == "calls":
            module, function = str(request.get("module")), str(request.get("function"))
            return {"replies": [self.call(module, function, list(args or [])) for args in request.get("each") or []]}
        if op == "inputs":
            return self.inputs(list(request.get("args") or []), list(request.get("on") or []))
        if op == "resolve":
            return self.resolve(list(request.get("names") or []))
        return {"error": {"type": "ProtocolError", "message": f"unknown request {op!r}", "line": None}}


def _attribute_suggestion(exc: BaseException) -> str:
    """` (did you mean 'sin'?)` for an AttributeError whose object has a close name (`torch.sinn`), else ""."""
    if not isinstance(exc, AttributeError) or exc.obj is None or not exc.name:
        return ""
    try:
        close = _close(exc.name, dir(exc.obj), "")
    except Exception:  # noqa: BLE001 - an object whose dir() fails has nothing to suggest
        return ""
    return f" (did you mean {close[0]!r}?)" if close else ""


def _close(name: str, choices: list[str], prefix: str) -> list[str]:
    return [f"{prefix}{c}" for c in difflib.get_close_matches(name, [c for c in choices if not c.startswith("_")], n=1)]


def _resolve(name: str) -> dict[str, Any] | None:
    """None when `name` is a function whose calls the child sees (grader.sandbox.instrument), else the problem.

    torch functions and methods are seen by torch's function mode or at the dispatcher; its
    plain-Python entry points (`torch.autograd.*`, `torch.func.*`) and the functions of other
    modules (`numpy.cos`, `math.cos`) are replaced in their module by a counting wrapper.
    """
    from grader.sandbox.instrument import PLAIN_TORCH_ENTRY_POINTS

    parts = name.split(".")
    module, depth = None, 0
    for depth in range(len(parts) - 1, 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:depth]))
            break
        except Exception:  # noqa: BLE001 - not a module (ImportError), or one that fails to import: try shorter
            continue
    if module is None:
        import pkgutil

        top = sorted({m.name for m in pkgutil.iter_modules()} | set(sys.builtin_module_names))
        return {"message": f"there is no module {parts[0]!r} where the grader runs", "close": _close(parts[0], top, "")}
    target: Any = module
    for index in range(depth, len(parts)):
        try:
            target = getattr(target, parts[index])
        except AttributeError:
            owner = ".".join(parts[:index])
            close = _close(parts[index], dir(target), owner + ".")
            return {"message": f"{owner} has no attribute {parts[index]!r}", "close": close}
        except Exception as exc:  # noqa: BLE001 - a lazy attribute that fails to load
            return {"message": f"{'.'.join(parts[:index + 1])} cannot be looked up: {type(exc).__name__}: {exc}", "close": []}
    if not callable(target):
        return {"message": f"{name} is not a function, so it is never called", "close": []}
    module_function = depth == len(parts) - 1
    if parts[0] != "torch":
        if module_function:
            return None
        return {"message": f"{name} is not a function of a module ({'.'.join(parts[:depth])} holds it inside "
                           f"{parts[depth]}): outside torch only module.function can be watched", "close": []}
    if module_function and name.startswith(PLAIN_TORCH_ENTRY_POINTS):
        return None
    if _seen_by_torch(target):
        return None
    return {"message": f"{name} exists, but its calls cannot be observed: torch's function hook does not report it; "
                       "forbid the name in the source with `forbid_source` instead", "close": []}


def _seen_by_torch(target: Any) -> bool:
    """Whether torch's function mode reports calls of `target`: its overridable functions and methods, and the
    operators written in C++ (they all ask for `__torch_function__`), but none of those torch says it ignores."""
    import types

    try:
        if target in _torch_functions(True):
            return True
        if target in _torch_functions(False):
            return False
    except TypeError:  # unhashable
        return False
    return isinstance(target, (types.BuiltinFunctionType, types.MethodDescriptorType))


_TORCH_FUNCTIONS: dict[bool, set[Any]] = {}


def _torch_functions(overridable: bool) -> set[Any]:
    """torch's overridable functions (True), or those it ignores (False), computed once."""
    if overridable not in _TORCH_FUNCTIONS:
        import torch.overrides

        found = torch.overrides.get_overridable_functions() if overridable else {"": torch.overrides.get_ignored_functions()}
        _TORCH_FUNCTIONS[overridable] = {f for functions in found.values() for f in functions}
    return _TORCH_FUNCTIONS[overridable]


def _import(path: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def serve(requests_fd: int, replies_fd: int) -> None:
    """Answer requests until the grader closes the pipe; never returns."""
    status = 0
    try:
        import torch

        torch.set_num_threads(1)  # beside the children, one thread; the answers are small
        server = ReferenceServer()
        decoder = FrameDecoder()
        while True:
            try:
                request = read_frame(requests_fd, decoder)
            except EOFError:
                break
            write_frame(replies_fd, server.handle(request))
    except BaseException:  # noqa: BLE001 - the grader sees the pipe close and reports it
        status = 1
    finally:
        os._exit(status)


def main() -> None:
    """Entry point where there is no fork: `python -m grader.sandbox.references`, talking on stdin and stdout."""
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(2, 1)  # whatever instructor code prints must not break the protocol
    serve(requests, replies)


class ReferenceWorker:
    """The grader's side: one worker per sandbox, asked from any thread, one request at a time."""

    def __init__(self, start: Callable[[], tuple[int, int, Callable[[], None], int | None]]) -> None:
        self._start = start
        self._lock = threading.Lock()
        self._fds: tuple[int, int] | None = None
        self._stop: Callable[[], None] | None = None
        self._decoder = FrameDecoder()
        self._loaded: dict[str, str] = {}
        self._functions: dict[str, list[str]] = {}
        self.pid: int | None = None
        """The worker's process id while it runs (None before it starts)."""

    def _ensure(self) -> tuple[int, int]:
        if self._fds is None:
            write_fd, read_fd, stop, self.pid = self._start()
            self._fds, self._stop, self._decoder = (write_fd, read_fd), stop, FrameDecoder()
            modules, self._loaded = self._loaded, {}
            if modules:  # a restarted worker imports again what the old one had
                self._request_locked({"op": "load", "modules": modules})
                self._loaded = modules
        return self._fds

    def _request_locked(self, request: dict[str, Any]) -> dict[str, Any]:
        import select

        write_fd, read_fd = self._ensure()
        try:
            write_frame(write_fd, request)
            if os.name != "nt":
                ready, _, _ = select.select([read_fd], [], [], REPLY_TIMEOUT)
                if not ready:
                    raise ReferenceUnavailable(f"no answer within {REPLY_TIMEOUT:g} s")
            reply = read_frame(read_fd, self._decoder)
        except (OSError, EOFError, ValueError) as exc:
            self._close_locked()
            raise ReferenceUnavailable(f"the reference worker stopped ({exc})") from None
        except ReferenceUnavailable:
            self._close_locked()
            raise
        if not isinstance(reply, dict):
            self._close_locked()
            raise ReferenceUnavailable("the reference worker sent something that is not an answer")
        return reply

    def request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its answer; ReferenceUnavailable when the worker cannot answer."""
        with self._lock:
            return self._request_locked(request)

    def load(self, modules: dict[str, Path]) -> dict[str, Any]:
        """Import these reference files (key -> path) in the worker; functions found and errors, by key."""
        wanted = {key: str(path) for key, path in modules.items()}
        with self._lock:
            reply = self._request_locked({"op": "load", "modules": wanted})
            for key in reply.get("functions", {}):
                self._loaded[key] = wanted[key]
                self._functions[key] = list(reply["functions"][key])
        return reply

    def resolve(self, names: list[str]) -> dict[str, Any]:
        """Whether each qualified name exists and its calls can be observed (`{"names": {name: None | problem}}`)."""
        return self.request({"op": "resolve", "names": list(names)})

    def inputs(self, args: list[dict[str, Any]], on: list[list[dict[str, Any]] | None] | None = None) -> dict[str, Any]:
        """Build each argument once, calling function arguments on `on[i]` (`{"errors": [None | error]}`)."""
        return self.request({"op": "inputs", "args": list(args), "on": list(on or [])})

    def call(self, module: str, function: str, args: list[dict[str, Any]]) -> dict[str, Any]:
        """A reference function's encoded value (`{"value": ...}`) or its error (`{"error": ...}`).

        `module` is the reference file's path; it is imported in the worker on first use.
        """
        return self.call_many(module, function, [args])[0]

    def call_many(self, module: str, function: str, each: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """`call` on each argument list, in one round trip: a reply per list, in order."""
        with self._lock:
            if module not in self._loaded:
                reply = self._request_locked({"op": "load", "modules": {module: module}})
                error = (reply.get("errors") or {}).get(module)
                if error:
                    return [{"error": error} for _ in each]
                self._loaded[module] = module
            reply = self._request_locked({"op": "calls", "module": module, "function": function, "each": list(each)})
        replies = reply.get("replies")
        if not isinstance(replies, list) or len(replies) != len(each) or not all(isinstance(r, dict) for r in replies):
            raise ReferenceUnavailable("the reference worker answered a batch of calls with something else")
        return replies

    def _close_locked(self) -> None:
        if self._fds is not None:
            for fd in self._fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._fds = None
        if self._stop is not None:
            self._stop()
            self._stop = None
        self.pid = None

    def close(self) -> None:
        """Stop the worker."""
        with self._lock:
            self._close_locked()


class InProcessReferences:
    """Reference functions called in this very process (tests of the judge; instructor tools that have torch)."""

    def __init__(self, functions: dict[str, Callable[..., Any]]) -> None:
        self.functions = functions

    def call(self, module: str, function: str, args: list[dict[str, Any]]) -> dict[str, Any]:
        """Like ReferenceWorker.call, without a worker."""
        from grader.arguments import build_argument
        from grader.sandbox.encode import encode_value

        target = self.functions.get(function)
        if not callable(target):
            return {"error": {"type": "LookupError", "message": f"reference function {function!r} is not defined", "line": None}}
        try:
            return {"value": encode_value(target(*[build_argument(a) for a in args]))}
        except Exception as exc:  # noqa: BLE001 - reported like the worker's errors
            return {"error": _error(exc)}

    def call_many(self, module: str, function: str, each: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Like ReferenceWorker.call_many, without a worker."""
        return [self.call(module, function, args) for args in each]


if __name__ == "__main__":
    main()
