"""What a submission prints: capped capture, and the split of one output stream into the calls that printed it.

The child writes a marker into its own output stream after the import and after each call, so
the order of markers and printed bytes is the order in which they were written, whatever order
the grader happens to read its pipes in: the same submission always splits the same way. A
submission could print a marker itself (its nonce is in its memory), but that only moves the
boundary of its own output earlier; calls whose output is withheld come last in the plan, so
anything printed once they begin stays withheld however the markers fall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MARKER_PREFIX = b"\x00\x1b[grader:"
MARKER_SUFFIX = b"]\x00"


def marker(nonce: str) -> bytes:
    """The boundary marker of a child whose hello carried `nonce` (hex)."""
    return MARKER_PREFIX + nonce.encode("ascii") + MARKER_SUFFIX


@dataclass
class CapturedOutput:
    """What the submission printed: the first and last bytes, and how much there was."""

    head_limit: int = 16 * 1024
    tail_limit: int = 4 * 1024
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, chunk: bytes) -> None:
        """Account for a chunk; keep only what fits in head and tail."""
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail = (self.tail + chunk)[-self.tail_limit :]

    def text(self) -> str:
        """The kept output as text (invalid UTF-8 replaced), with a marker where bytes were dropped."""
        dropped = self.total - len(self.head) - len(self.tail)
        middle = f"\n[... {dropped} bytes not shown ...]\n" if dropped > 0 else ""
        return self.head.decode("utf-8", "replace") + middle + self.tail.decode("utf-8", "replace")


class OutputSplitter:
    """Cuts a child's output stream at its markers: `feed` returns (segment number, bytes) pieces.

    Segment 0 is what the import printed, segment k what the k-th call of this child printed.
    A marker split across two reads is recognised; bytes that might begin one are held back.
    """

    def __init__(self, nonce: str) -> None:
        self._marker = marker(nonce)
        self._pending = b""
        self.segment = 0

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        """The pieces of output this chunk completes, with the segment each belongs to."""
        data = self._pending + chunk
        pieces: list[tuple[int, bytes]] = []
        while True:
            at = data.find(self._marker)
            if at < 0:
                break
            if at:
                pieces.append((self.segment, data[:at]))
            self.segment += 1
            data = data[at + len(self._marker):]
        keep = self._partial_suffix(data)
        if len(data) > keep:
            pieces.append((self.segment, data[: len(data) - keep]))
        self._pending = data[len(data) - keep:] if keep else b""
        return pieces

    def flush(self) -> list[tuple[int, bytes]]:
        """What is left once the stream has ended."""
        rest, self._pending = self._pending, b""
        return [(self.segment, rest)] if rest else []

    def _partial_suffix(self, data: bytes) -> int:
        """How many trailing bytes of `data` could be the start of a marker."""
        for size in range(min(len(self._marker) - 1, len(data)), 0, -1):
            if self._marker.startswith(data[-size:]):
                return size
        return 0
