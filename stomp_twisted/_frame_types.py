"""
The codec's vocabulary: L{Frame}, the decoder's other events (L{HEARTBEAT},
L{NEED_DATA}), L{FrameLimits}, the versions and the commands.

What the encoder (L{stomp_twisted._encoder}) and the decoder
(L{stomp_twisted._decoder}) share; L{stomp_twisted.frame} exports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from .errors import BadArgument, LocalProtocolError

__all__ = [
    "CLIENT_COMMANDS",
    "HEARTBEAT",
    "NEED_DATA",
    "SERVER_COMMANDS",
    "VERSIONS",
    "Frame",
    "FrameLimits",
    "Heartbeat",
    "NeedData",
    "check_version",
]

#: The STOMP versions this codec speaks, oldest first.
VERSIONS: Final = ("1.0", "1.1", "1.2")

#: Commands a client sends.
CLIENT_COMMANDS: Final = frozenset(
    {
        "CONNECT",
        "STOMP",
        "SEND",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "ACK",
        "NACK",
        "BEGIN",
        "COMMIT",
        "ABORT",
        "DISCONNECT",
    }
)

#: Commands a server sends.
SERVER_COMMANDS: Final = frozenset({"CONNECTED", "MESSAGE", "RECEIPT", "ERROR"})


class Frame:
    """
    One STOMP frame.

    @ivar command: the command, for example C{"SEND"}.
    @ivar headers: the headers, names and values as text.  When a frame is
        received with a repeated header, the first occurrence is kept, as
        STOMP 1.2 says.
    @ivar body: the body, as bytes (it may contain NUL bytes).
    """

    __slots__ = ("body", "command", "headers")

    command: str
    headers: dict[str, str]
    body: bytes

    def __init__(
        self,
        command: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """
        @raise LocalProtocolError: if C{command} is not a non-empty string,
            a header name or value is not a string, or C{body} is not bytes.
        """
        if not isinstance(command, str) or not command:
            raise LocalProtocolError(f"frame command must be a non-empty str, not {command!r}")
        if headers is None:
            copied: dict[str, str] = {}
        else:
            # (An exact dict first: isinstance against an ABC is slow, and
            # its copy method is cheaper than dict().)
            if type(headers) is dict:
                copied = headers.copy()
            elif isinstance(headers, Mapping):
                copied = dict(headers)
            else:
                raise LocalProtocolError(
                    f"frame headers must be a mapping of str to str, not {type(headers).__name__}"
                )
            for name, value in copied.items():
                # (Exact str first: cheaper than isinstance, which then
                # admits subclasses.)
                if (type(name) is not str or type(value) is not str) and (
                    not isinstance(name, str) or not isinstance(value, str)
                ):
                    raise LocalProtocolError(
                        f"header {name!r}: names and values must be str, "
                        f"not {type(name).__name__} and {type(value).__name__}"
                    )
        if type(body) is not bytes:
            if isinstance(body, (bytearray, memoryview)):
                body = bytes(body)
            elif not isinstance(body, bytes):
                raise LocalProtocolError(f"frame body must be bytes, not {type(body).__name__}")
        self.command = command
        self.headers = copied
        self.body = body

    @classmethod
    def _received(cls, command: str, headers: dict[str, str], body: bytes) -> Frame:
        # The decoder (and the client's send, which checks its arguments
        # itself) builds frames from values it has already checked, and
        # hands over the headers dict: skipping __init__'s checks and copy
        # keeps them fast.
        frame = cls.__new__(cls)
        frame.command = command
        frame.headers = headers
        frame.body = body
        return frame

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return (self.command, self.headers, self.body) == (
            other.command,
            other.headers,
            other.body,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 64 else self.body[:64] + b"..."
        return f"Frame({self.command!r}, {self.headers!r}, {body!r})"


class Heartbeat:
    """
    The type of L{HEARTBEAT}: an EOL received between frames.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "HEARTBEAT"


class NeedData:
    """
    The type of L{NEED_DATA}: the decoder has no complete event buffered.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


#: Returned by
#: L{FrameDecoder.next_event<stomp_twisted.frame.FrameDecoder.next_event>}
#: for each EOL between frames.
HEARTBEAT: Final = Heartbeat()

#: Returned by
#: L{FrameDecoder.next_event<stomp_twisted.frame.FrameDecoder.next_event>}
#: when more bytes are needed.
NEED_DATA: Final = NeedData()


@dataclass(frozen=True)
class FrameLimits:
    """
    Bounds on what a L{FrameDecoder<stomp_twisted.frame.FrameDecoder>}
    accepts, so that a peer cannot make it hold unbounded memory.  A frame
    over a limit raises L{FrameTooLarge<stomp_twisted.errors.FrameTooLarge>}
    naming the limit.

    @ivar max_header_block: bytes in the command and header lines of one
        frame, EOLs included.
    @ivar max_headers: header lines in one frame.
    @ivar max_body: bytes in one frame's body.
    """

    max_header_block: int = 1024 * 1024
    max_headers: int = 1000
    max_body: int = 64 * 1024 * 1024


def check_version(version: str) -> str:
    """
    @return: C{version} if this codec speaks it.
    @raise BadArgument: if it is not a C{str}.
    @raise LocalProtocolError: if it is a version this codec does not speak.
    """
    if not isinstance(version, str):
        # (A TypeError, as the compiled decoder's own check raises.)
        raise BadArgument(f"a STOMP version is a str, not {type(version).__name__}")
    if version not in VERSIONS:
        raise LocalProtocolError(f"unknown STOMP version {version!r}; expected one of {VERSIONS}")
    return version
