"""Control messages between trusted processes: length-prefixed JSON on a UNIX stream socket, with file descriptors.

Stream sockets (not SOCK_SEQPACKET, which macOS lacks) carry the warm worker's control channel and
each job's channel. File descriptors travel with the header of the message they belong to, and
each message is read exactly (header, then body), so descriptors never attach to another message.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

HEADER = struct.Struct(">I")
MAX_CONTROL_MESSAGE = 1 << 20


def send_message(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """One JSON message (and optionally file descriptors)."""
    body = json.dumps(message).encode()
    data = HEADER.pack(len(body)) + body
    if fds:
        sent = socket.send_fds(sock, [data], fds)
        data = data[sent:]
    if data:
        sock.sendall(data)


def _read_exactly(sock: socket.socket, size: int, max_fds: int) -> tuple[bytes, list[int]]:
    chunks, fds, got = [], [], 0
    while got < size:
        if max_fds and not fds:
            chunk, new_fds, _flags, _addr = socket.recv_fds(sock, size - got, max_fds)
            fds.extend(new_fds)
        else:
            chunk = sock.recv(size - got)
        if not chunk:
            return b"", fds
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks), fds


def receive_message(sock: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """One message and any file descriptors sent with it; (None, fds) when the peer closed or misbehaved."""
    header, fds = _read_exactly(sock, HEADER.size, max_fds)
    if len(header) < HEADER.size:
        return None, fds
    (size,) = HEADER.unpack(header)
    if size > MAX_CONTROL_MESSAGE:
        return None, fds
    body, _ = _read_exactly(sock, size, 0)
    if len(body) < size:
        return None, fds
    try:
        message = json.loads(body)
    except ValueError:
        return None, fds
    return (message if isinstance(message, dict) else None), fds
