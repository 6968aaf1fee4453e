"""The wire between the coordinator and a paired worker: JSON lines over a local socket.

Each message is one JSON object on one line. The worker sends *events*
(``hello``, ``collected``, ``waiting``, ``ready``, ``report``, ``left``,
``finished``) and *replies* to commands; the coordinator sends *commands*
(``go``, ``warmup``, ``time``, ``memory``, ``done``). No pickle: only JSON
types cross the boundary.
"""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any

from pytest_perfbudget.envvars import WORKER_ENV

__all__ = ["WORKER_ENV", "Channel", "ChannelClosedError", "ChannelTimeoutError"]

Message = dict[str, Any]


class ChannelClosedError(Exception):
    """The other side closed the connection (it exited or crashed)."""


class ChannelTimeoutError(Exception):
    """No message arrived within the time limit."""


class Channel:
    """One connected socket, read and written a line at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = sock.makefile("rb")

    @classmethod
    def connect(cls, host: str, port: int, timeout: float = 30.0) -> Channel:
        """Connect to the coordinator at ``host:port``."""
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock)

    def send(self, message: Message) -> None:
        """Write one message; a closed peer raises :class:`ChannelClosedError`."""
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise ChannelClosedError(str(exc)) from exc

    def receive(self, timeout: float | None = None) -> Message:
        """Read one message, waiting at most ``timeout`` seconds (None: forever)."""
        self._sock.settimeout(timeout)
        try:
            line = self._reader.readline()
        except TimeoutError as exc:
            raise ChannelTimeoutError(f"no message within {timeout} s") from exc
        except OSError as exc:
            raise ChannelClosedError(str(exc)) from exc
        if not line:
            raise ChannelClosedError("connection closed")
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ChannelClosedError(f"unexpected message {line!r}")
        return message

    def close(self) -> None:
        """Close the connection (idempotent)."""
        for closer in (self._reader.close, self._sock.close):
            with contextlib.suppress(OSError):
                closer()
