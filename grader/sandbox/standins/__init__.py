"""Child side: stand-ins for the book's helper imports that cannot load in the sandbox.

Readers' plotting answers often begin with `from d2l import torch as d2l` or copy the book's
`backend_inline.set_matplotlib_formats('svg')`. The child has neither d2l nor IPython, so such a
file would fail before any of its functions could be graded. `install()` puts a finder first on
`sys.meta_path` that serves our own `d2l` (in `standins/d2l/`) only when no real one imports, and a
no-op `matplotlib_inline.backend_inline` when matplotlib-inline is installed without IPython.
Nothing is imported until the submission asks for it, so `install()` costs microseconds.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from types import ModuleType
from typing import Any

_D2L_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "d2l")
_D2L_NAMES = ("d2l", "d2l.torch")
_BACKEND_INLINE = "matplotlib_inline.backend_inline"
# Marks our finder without naming its class, so that install() stays idempotent even if this
# module were loaded twice (two class objects, one meta_path).
_MARK = "_grader_standins_finder"


def install() -> None:
    """Let submissions import d2l and matplotlib_inline's backend where the real ones cannot load."""
    if not any(getattr(finder, _MARK, False) for finder in sys.meta_path):
        sys.meta_path.insert(0, _StandinFinder())


def _standin_spec(fullname: str) -> importlib.machinery.ModuleSpec:
    package = fullname == "d2l"
    origin = os.path.join(_D2L_DIR, "__init__.py" if package else "torch.py")
    loader = importlib.machinery.SourceFileLoader(fullname, origin)
    spec = importlib.machinery.ModuleSpec(fullname, loader, origin=origin, is_package=package)
    spec.has_location = True
    if package:
        spec.submodule_search_locations = [_D2L_DIR]
    return spec


def _become_standin(module: ModuleType) -> None:
    """Re-run a module whose real code raised as our stand-in, keeping the object importlib holds."""
    spec = _standin_spec(module.__name__)
    module.__dict__.clear()
    module.__dict__.update(__name__=spec.name, __spec__=spec, __loader__=spec.loader, __file__=spec.origin,
                           __cached__=spec.cached, __package__=spec.parent)
    if spec.submodule_search_locations is not None:
        module.__path__ = list(spec.submodule_search_locations)
    assert spec.loader is not None
    spec.loader.exec_module(module)


# Duck-typed rather than subclassing importlib.abc: that module pulls in importlib.resources,
# tempfile and zipfile (about 20 ms in a cold interpreter), and the import system needs only
# these methods.
class _StandinFinder:
    _grader_standins_finder = True

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in _D2L_NAMES:
            return self._d2l_spec(fullname, path, target)
        if fullname == _BACKEND_INLINE:
            return self._backend_inline_spec(fullname, path, target)
        return None

    def invalidate_caches(self) -> None:
        pass

    @staticmethod
    def _elsewhere(fullname: str, path: Any, target: Any) -> importlib.machinery.ModuleSpec | None:
        """The spec the import system would find without us."""
        for finder in list(sys.meta_path):
            if getattr(finder, _MARK, False):
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is not None:
                spec = find_spec(fullname, path, target)
                if spec is not None:
                    return spec
        return None

    def _d2l_spec(self, fullname: str, path: Any, target: Any) -> importlib.machinery.ModuleSpec:
        if fullname != "d2l" and path is not None and _D2L_DIR in list(path):
            return _standin_spec(fullname)
        real = self._elsewhere(fullname, path, target)
        # A namespace package (a stray folder named d2l on the path) has no code: it is not d2l.
        if real is None or real.origin is None or real.loader is None or not hasattr(real.loader, "exec_module"):
            return _standin_spec(fullname)
        real.loader = _FallbackLoader(real.loader)
        return real

    def _backend_inline_spec(self, fullname: str, path: Any, target: Any) -> importlib.machinery.ModuleSpec | None:
        real = self._elsewhere(fullname, path, target)
        if real is None or self._elsewhere("IPython", None, None) is not None:
            return None
        # The real module imports IPython at its top, so without IPython it cannot load at all:
        # we serve a module of our own under its name rather than patch it after import.
        return importlib.machinery.ModuleSpec(fullname, _InlineBackendLoader(),
                                              origin="the grader's stand-in (IPython is not installed)")


class _FallbackLoader:
    """Runs a real d2l module; if it raises (d2l pins old numpy and pandas), runs ours instead."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        # get_source, get_filename, is_package...: tracebacks and inspect ask the loader.
        return getattr(self.real, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create = getattr(self.real, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        before = set(sys.modules)
        try:
            self.real.exec_module(module)
        except Exception:
            # Submodules the broken package imported before it raised would shadow ours.
            for name in set(sys.modules) - before:
                if name.startswith(module.__name__ + "."):
                    del sys.modules[name]
            _become_standin(module)


def _set_matplotlib_formats(*formats: Any, **kwargs: Any) -> None:
    """Do nothing: SVG or PNG makes no difference where no figure is displayed."""


def _inline_backend_getattr(name: str) -> Any:
    """Say what the stand-in backend provides instead of a bare AttributeError."""
    raise AttributeError(f"the grader's stand-in for matplotlib_inline.backend_inline has no `{name}`: it provides "
                         "only set_matplotlib_formats (which does nothing), because IPython is not installed")


class _InlineBackendLoader:
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        module.__doc__ = ("The grader's stand-in for matplotlib_inline.backend_inline, which needs IPython: "
                          "set_matplotlib_formats does nothing.")
        module.set_matplotlib_formats = _set_matplotlib_formats  # type: ignore[attr-defined]
        module.__getattr__ = _inline_backend_getattr  # type: ignore[attr-defined]
