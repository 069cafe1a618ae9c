"""An exercise directory as data: what a Dask worker needs to grade against it, with no shared file system.

The grader packs the directory it was given (YAML specs, `reference.py` files and whatever they
import) into relative path -> bytes, keyed by a hash of the content. A worker unpacks one bundle
once, into a private directory of its own, and keeps the loaded exercises for every later job
with the same hash. The built-in exercises travel the same way, so that a worker with another
version of the grader still grades against the client's specs (a version mismatch of the code
itself is reported by Dask when the client connects).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_BUNDLE_BYTES = 32 << 20
"""The largest exercise directory shipped: far beyond YAML and reference code, and a guard against
pointing `--exercises` at a home directory."""
MAX_BUNDLE_FILES = 2_000
SKIPPED_DIRS = {"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules"}


class BundleError(ValueError):
    """The exercise directory cannot be shipped (too large, unreadable); the message says which file."""


@dataclass(frozen=True)
class ExerciseBundle:
    """The files of an exercise directory (relative POSIX path -> bytes) and the hash that names them."""

    digest: str
    files: dict[str, bytes]

    @property
    def size(self) -> int:
        """Bytes of all files together."""
        return sum(len(data) for data in self.files.values())


def pack(root: Path) -> ExerciseBundle:
    """Every file under `root` but caches and hidden files, read now; BundleError when it is too large."""
    root = root.resolve()
    files: dict[str, bytes] = {}
    total = 0
    for directory, subdirs, names in os.walk(root):
        # Sorted so that the hash does not depend on the order the file system lists entries in.
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise BundleError(f"{path}: cannot be read to send to the cluster: {exc.strerror or exc}") from None
            total += len(data)
            if total > MAX_BUNDLE_BYTES or len(files) >= MAX_BUNDLE_FILES:
                raise BundleError(f"{root}: more than {MAX_BUNDLE_BYTES >> 20} MiB or {MAX_BUNDLE_FILES} files; "
                                  "an exercise directory holds specs and reference code only")
            files[relative] = data
    return ExerciseBundle(_digest(files), files)


def _digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for relative in sorted(files):
        name = relative.encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name + len(files[relative]).to_bytes(8, "big"))
        digest.update(files[relative])
    return digest.hexdigest()


def unpack(bundle: ExerciseBundle, target: Path) -> Path:
    """Write the bundle's files under `target` (created; must not exist); returns it.

    Paths are checked before anything is written: none may be absolute or climb out of `target`.
    The hash is checked too, so that a directory named after a hash holds exactly that content.
    """
    if _digest(bundle.files) != bundle.digest:
        raise BundleError("the exercise bundle does not match its hash")
    for relative in bundle.files:
        parts = PurePosixPath(relative).parts
        if not parts or PurePosixPath(relative).is_absolute() or any(p in ("", ".", "..") for p in parts) or "\\" in relative:
            raise BundleError(f"the exercise bundle holds an unsafe path: {relative!r}")
    target.mkdir(parents=True)
    for relative, data in bundle.files.items():
        path = target.joinpath(*PurePosixPath(relative).parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target
