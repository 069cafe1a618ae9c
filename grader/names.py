"""Names that come from the file system, made safe to show and to use as file names.

A submission's file name is chosen by a student: it may hold terminal escapes (an OSC 52
clipboard write, an erase-line), newlines that forge report lines, or bytes that are not UTF-8
(which Python keeps as lone surrogates, and a strict UTF-8 stream refuses to print).
"""

from __future__ import annotations

import hashlib
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def display_name(name: str) -> str:
    """A name as reports show it: control and bidirectional characters escaped as \\xNN, undecodable bytes as \\xNN."""
    escaped = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", name)
    # Lone surrogates (os.fsdecode's stand-ins for undecodable bytes) become their bytes, escaped.
    return escaped.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def file_stem(display: str, identity: str) -> str:
    """A file-name-safe stem for a submission's files, unique per submission (two `solution.py` in different folders differ)."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", display.rsplit("/", 1)[-1].rsplit(".", 1)[0]).strip("_.") or "submission"
    digest = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{readable[:60]}-{digest}"
