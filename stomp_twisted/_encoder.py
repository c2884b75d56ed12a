"""
The frame encoder: L{serialize_frame}, a frame to bytes for a STOMP version;
and L{serialize_frame_pieces}, the same for writing, a large body left
uncopied.

L{stomp_twisted.frame} exports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeAlias

from ._escape import ESCAPERS, UNESCAPED_COMMANDS, escape_10, refuse_unwritable
from ._frame_types import CLIENT_COMMANDS, SERVER_COMMANDS, Frame, check_version
from .errors import UnrepresentableHeader

__all__ = [
    "BODY_APART_FROM",
    "FrameBytes",
    "send_head_start",
    "serialize_frame",
    "serialize_frame_pieces",
]


#: A body this long or longer is written apart from its frame's head
#: (L{serialize_frame_pieces}): joining head, body and NUL would copy the
#: body once more before the transport's own join.  Under it, one joined
#: bytes object is cheaper to build and to write.
BODY_APART_FROM: Final = 64 * 1024

#: What L{serialize_frame_pieces} returns: a frame's bytes, whole or as
#: its head, body and NUL.
FrameBytes: TypeAlias = "bytes | tuple[bytes, bytes, bytes]"

# The commands the fast path writes, encoded: STOMP's, none of which holds
# a character to refuse or escape.
_PLAIN_COMMANDS: Final = {
    command: command.encode() for command in sorted(CLIENT_COMMANDS | SERVER_COMMANDS)
}

# The fast path's whole frame with a body, by command: the command
# already in place, one substitution fewer per frame.
_WITH_BODY: Final = {
    command: b"%s\n%%s\ncontent-length:%%d\n\n%%s\0" % encoded
    for command, encoded in _PLAIN_COMMANDS.items()
}

# The same by version, then command: a frame with nothing to escape is
# written alike in every version, and one lookup then checks both.
_TEMPLATES: Final = {version: _WITH_BODY for version in ESCAPERS}

# A header line from a (name, value) item.  (Bound once: ":".join, as
# map's argument, made a bound method object on every call.)
_header_line: Final = ":".join

# What no name or value may hold for the fast path (the characters one
# version or another escapes or refuses), as bytes.translate deletes them:
# each is ASCII, and no byte of a UTF-8 sequence for another character is.
_SPECIAL: Final = b":\n\\\r\0"


def serialize_frame(frame: Frame, version: str = "1.2") -> bytes:
    """
    Encode C{frame} as bytes for the given STOMP version.

    Header names and values are escaped as C{version} requires (never on
    C{CONNECT}, C{STOMP} and C{CONNECTED}, which the spec exempts), and a
    C{content-length} header is written for every frame with a body,
    replacing any the caller gave.

    @raise UnrepresentableHeader: if a header cannot be written in
        C{version} without changing its meaning: a NUL anywhere, a newline
        or carriage return where it cannot be escaped, a colon in a name
        where it cannot be escaped.
    @raise LocalProtocolError: if C{version} is unknown.
    """
    command = frame.command
    headers = frame.headers
    body = frame.body
    # _plain_fields and the template, inlined: the usual frame is small,
    # and a call more costs it some 3%.
    if headers and "content-length" not in headers and "" not in headers:
        try:
            # (One lookup checks both the version and the command.)
            template = _TEMPLATES[version][command]
            # (encode()'s default, UTF-8, is cheaper than naming it.)
            fields = "\n".join(map(_header_line, headers.items())).encode()
        except KeyError:  # an unknown version (reported below) or command
            pass
        except UnicodeEncodeError:  # a lone surrogate: reported below
            pass
        else:
            # Nothing to escape or refuse: the only special characters are
            # the colon of each header line and the EOL between two.
            if len(fields) - len(fields.translate(None, _SPECIAL)) == 2 * len(headers) - 1:
                if body:
                    return template % (fields, len(body), body)
                return b"%s\n%s\n\n\0" % (_PLAIN_COMMANDS[command], fields)
    return b"".join((_encode_escaped_head(command, headers, len(body), version), body, b"\0"))


def serialize_frame_pieces(frame: Frame, version: str = "1.2") -> FrameBytes:
    """
    Encode C{frame} as L{serialize_frame} does, for writing: as one bytes
    object, or, for a body of L{BODY_APART_FROM} bytes or more, as its
    head, body and NUL, the body not copied (a transport that gathers
    what it is given joins them once, on its way to the socket).

    @raise UnrepresentableHeader: as L{serialize_frame}.
    @raise LocalProtocolError: if C{version} is unknown.
    """
    body = frame.body
    if len(body) < BODY_APART_FROM:
        return serialize_frame(frame, version)
    return (_encode_head(frame.command, frame.headers, len(body), version), body, b"\0")


def send_head_start(headers: dict[str, str]) -> bytes | None:
    """
    The start of a C{SEND} frame with C{headers} and a body, up to its
    C{content-length}'s value, if C{headers} are plain (nothing any
    version escapes or refuses, no C{content-length}): then the frame is
    written alike in every version, as this start, the body's length, an
    empty line, the body and NUL.  C{None} for any other headers, which
    L{serialize_frame} writes.

    It lets a publisher that sends many messages with the same headers
    encode them once (L{stomp_twisted._sending.Sender.send_plain}).
    """
    fields = _plain_fields(headers)
    if fields is None:
        return None
    return b"SEND\n%s\ncontent-length:" % fields


def _plain_fields(headers: dict[str, str]) -> bytes | None:
    # The header lines of headers with nothing to escape or refuse in any
    # version and no content-length to replace, encoded; None for others.
    # (serialize_frame inlines it, where a call more costs some 3%.)
    if not headers or "content-length" in headers or "" in headers:
        return None
    try:
        fields = "\n".join(map(_header_line, headers.items())).encode()
    except UnicodeEncodeError:  # a lone surrogate: refused by the general path
        return None
    if len(fields) - len(fields.translate(None, _SPECIAL)) != 2 * len(headers) - 1:
        return None
    return fields


def _encode_head(command: str, headers: dict[str, str], body_length: int, version: str) -> bytes:
    # The command and header lines and the blank line that ends them.
    encoded = _PLAIN_COMMANDS.get(command)
    if encoded is not None and version in ESCAPERS:
        fields = _plain_fields(headers)
        if fields is not None:
            if body_length:
                return b"%s\n%s\ncontent-length:%d\n\n" % (encoded, fields, body_length)
            return b"%s\n%s\n\n" % (encoded, fields)
    return _encode_escaped_head(command, headers, body_length, version)


def _encode_escaped_head(
    command: str, headers: dict[str, str], body_length: int, version: str
) -> bytes:
    # Every other head: escaped as the version requires, or refused.
    escape: Callable[[str, str], str]
    if command in UNESCAPED_COMMANDS:
        check_version(version)
        escape = escape_10
    else:
        try:
            escape = ESCAPERS[version]
        except KeyError:
            check_version(version)
            raise
    refuse_unwritable(command, "command", "\0\n\r:")
    lines = [command]
    for name, value in headers.items():
        if name == "content-length":
            continue
        if not name:
            raise UnrepresentableHeader("a header name cannot be empty")
        lines.append(f"{escape(name, 'header name')}:{escape(value, 'header value')}")
    if body_length:
        lines.append(f"content-length:{body_length}")
    lines.append("\n")
    try:
        return "\n".join(lines).encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate
        raise UnrepresentableHeader(f"{command} frame: {error}") from None
