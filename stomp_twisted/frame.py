"""
The STOMP frame codec: bytes in, frames out, and back.  No I/O, no Twisted.

A L{Frame} is a command, headers and a body.  L{serialize_frame} turns one
into bytes for a given STOMP version; L{FrameDecoder} turns received bytes
into frames (and heart-beat EOLs), whatever the chunking, in the manner of
h11: C{receive_data(bytes)}, then C{next_event()} until it returns
L{NEED_DATA}.

The decoder is a small state machine with a line mode (the command and
header lines) and a raw mode (the body, C{content-length} bytes or up to the
first NUL), which is what L{stomp_twisted.protocol.StompProtocol} reports as
its L{LineReceiver<twisted.protocols.basic.LineReceiver>} mode.

This module is the codec's public face; the work is done in private
modules, one job each: C{_frame_types} (L{Frame}, the events, the limits,
the versions and commands), C{_escape} (header escaping, one function per
version and direction), C{_encoder} (L{serialize_frame}) and C{_decoder}
(L{FrameDecoder}).  L{parse_frames}, for bytes already in hand, is here.
"""

from __future__ import annotations

from types import FunctionType
from typing import Final

from ._decoder import FrameDecoder
from ._encoder import serialize_frame
from ._frame_types import (
    CLIENT_COMMANDS,
    HEARTBEAT,
    NEED_DATA,
    SERVER_COMMANDS,
    VERSIONS,
    Frame,
    FrameLimits,
    Heartbeat,
    NeedData,
)

__all__ = [
    "CLIENT_COMMANDS",
    "COMPILED",
    "HEARTBEAT",
    "NEED_DATA",
    "SERVER_COMMANDS",
    "VERSIONS",
    "Frame",
    "FrameDecoder",
    "FrameLimits",
    "Heartbeat",
    "NeedData",
    "parse_frames",
    "serialize_frame",
]

#: Whether the decoder and the header escaping run compiled (by mypyc, when
#: the package was installed with C{STOMP_TWISTED_COMPILE=1}: see the
#: README) rather than from their Python source.
COMPILED: Final[bool] = not isinstance(vars(FrameDecoder)["receive_data"], FunctionType)


def parse_frames(
    data: bytes, version: str = "1.2", limits: FrameLimits | None = None
) -> list[Frame | Heartbeat]:
    """
    Parse every complete event in C{data}.

    @raise RemoteProtocolError: if C{data} is not valid STOMP.
    """
    decoder = FrameDecoder(version, limits)
    decoder.receive_data(data)
    events: list[Frame | Heartbeat] = []
    while True:
        event = decoder.next_event()
        if isinstance(event, NeedData):
            return events
        events.append(event)
