"""The wire between the grader and the sandboxed child: length-prefixed JSON frames and plain arrays.

Nothing here can carry code: frames are JSON, arrays are raw little-endian bytes of a whitelisted
dtype. Both sides import this module, so it needs numpy only (no torch, no pydantic).
"""

from __future__ import annotations

import base64
import json
import os
import re
import struct
from typing import Any, Iterator

import numpy as np

HEADER = struct.Struct(">I")
MAX_FRAME_BYTES = 32 * 1024 * 1024
"""The largest frame either side accepts; a bigger one is a protocol violation."""

# Tensor dtype name -> the numpy dtype its data travels as. bfloat16 has no numpy dtype: it
# travels as float32 and keeps its name.
WIRE_DTYPES: dict[str, str] = {
    "float64": "<f8",
    "float32": "<f4",
    "float16": "<f2",
    "bfloat16": "<f4",
    "complex128": "<c16",
    "complex64": "<c8",
    "int64": "<i8",
    "int32": "<i4",
    "int16": "<i2",
    "int8": "|i1",
    "uint8": "|u1",
    "bool": "|b1",
}
MAX_ARRAY_ELEMENTS = 2_000_000
"""Arrays with more elements are not sent; the child reports their shape only."""


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed frame."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: Any) -> Any:
    """The value with every lone surrogate in its strings replaced by U+FFFD.

    A student's string may hold one (from `"\\ud800"` in their code, or a file name that is not
    UTF-8); JSON carries it, but the strict parser on the other side refuses the whole frame, which
    would cost the submission far more than the one string it is in.
    """
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if not value.isascii() and _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {clean_text(k): clean_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_text(v) for v in value]
    return value


def encode_frame(message: dict[str, Any]) -> bytes:
    """A message as one frame: 4-byte big-endian length, then UTF-8 JSON (lone surrogates replaced)."""
    body = json.dumps(clean_text(message), separators=(",", ":"), allow_nan=False).encode()
    if len(body) > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    return HEADER.pack(len(body)) + body


def write_frame(fd: int, message: dict[str, Any]) -> None:
    """Write one frame to a file descriptor, blocking until all of it is written."""
    data = memoryview(encode_frame(message))
    while data:
        written = os.write(fd, data)
        data = data[written:]


class FrameDecoder:
    """Reassembles frames from chunks of bytes, refusing oversized or malformed ones."""

    def __init__(self, max_frame: int = MAX_FRAME_BYTES) -> None:
        self._buffer = bytearray()
        self._max_frame = max_frame

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return the bodies (JSON text) of the frames completed by them."""
        return list(self.frames(chunk))

    def frames(self, chunk: bytes) -> Iterator[bytes]:
        """Add bytes; yield the bodies of the frames completed by them, one at a time.

        A malformed header raises only when the frames before it have been taken, so that the
        caller can act on them first (a good report followed by garbage in the same read).
        """
        self._buffer += chunk
        while len(self._buffer) >= HEADER.size:
            (size,) = HEADER.unpack_from(self._buffer)
            if size > self._max_frame:
                raise ProtocolError(f"frame of {size} bytes announced; the limit is {self._max_frame}")
            if len(self._buffer) < HEADER.size + size:
                break
            body = bytes(self._buffer[HEADER.size : HEADER.size + size])
            del self._buffer[: HEADER.size + size]
            yield body

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole frame."""
        return len(self._buffer)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in frames")


def parse_json(body: bytes) -> Any:
    """The message in a frame body; NaN and Infinity are refused as JSON does."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from None


def read_frame(fd: int, decoder: FrameDecoder | None = None) -> Any:
    """Block until one whole frame arrives on `fd`; raise EOFError if the writer closed first."""
    decoder = decoder or FrameDecoder()
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise EOFError("the other side closed the channel")
        messages = decoder.feed(chunk)
        if messages:
            if len(messages) > 1:
                raise ProtocolError("more than one frame arrived where one was expected")
            return parse_json(messages[0])


def encode_array(array: np.ndarray, dtype_name: str) -> dict[str, Any]:
    """A numpy array as plain data, under the tensor dtype name it stands for."""
    wire = WIRE_DTYPES[dtype_name]
    data = np.asarray(array, dtype=wire, order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
    return {
        "dtype": dtype_name,
        "shape": list(data.shape),
        "data": base64.b64encode(data.tobytes()).decode("ascii"),
    }


def decode_array(encoded: dict[str, Any]) -> np.ndarray:
    """The numpy array of an encoded array, after checking dtype, shape and length agree."""
    dtype_name = encoded.get("dtype")
    if dtype_name not in WIRE_DTYPES:
        raise ProtocolError(f"dtype {dtype_name!r} is not allowed")
    shape = encoded.get("shape")
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape) or len(shape) > 32:
        raise ProtocolError(f"bad shape {shape!r}")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count > MAX_ARRAY_ELEMENTS:
        raise ProtocolError(f"array of {count} elements exceeds {MAX_ARRAY_ELEMENTS}")
    wire = np.dtype(WIRE_DTYPES[dtype_name])
    data = encoded.get("data")
    if not isinstance(data, str):
        raise ProtocolError("array data must be a base64 string")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise ProtocolError("array data is not valid base64") from None
    if len(raw) != count * wire.itemsize:
        raise ProtocolError(f"array data has {len(raw)} bytes; shape {shape} of {dtype_name} needs {count * wire.itemsize}")
    return np.frombuffer(raw, dtype=wire).reshape(shape).copy()
