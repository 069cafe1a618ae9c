"""Student-controlled text made safe to print: no terminal controls, always encodable as UTF-8."""

from __future__ import annotations

import re

# Escape sequences first: otherwise the lone ESC would be removed and "[31m" left behind.
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]")


def plain(text: str) -> str:
    """Text without ANSI sequences or control characters (tab and newline kept), lone surrogates replaced."""
    return _CONTROL.sub("", text).encode("utf-8", "replace").decode("utf-8")
