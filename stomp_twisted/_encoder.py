"""
The frame encoder: L{serialize_frame}, a frame to bytes for a STOMP version.

L{stomp_twisted.frame} exports it.
"""

from __future__ import annotations

from collections.abc import Callable

from ._escape import ESCAPERS, UNESCAPED_COMMANDS, escape_10, refuse_unwritable
from ._frame_types import Frame, check_version
from .errors import UnrepresentableHeader

__all__ = ["serialize_frame"]


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
    # The fast path: nothing to escape and nothing to refuse, in any
    # version, and no content-length to replace.  The head is built
    # first, then checked: no backslash, CR or NUL in it, and no colon
    # or EOL but those that separate names from values and end lines.
    if "content-length" not in headers and "" not in headers and version in ESCAPERS:
        lines = [command, *map(":".join, headers.items())]
        if body:
            lines.append(f"content-length:{len(body)}")
        separators = len(lines) - 1
        lines.append("\n")
        text = "\n".join(lines)
        if (
            text.count(":") == separators
            and text.count("\n") == len(lines)
            and "\\" not in text
            and "\r" not in text
            and "\0" not in text
        ):
            try:
                return b"".join((text.encode("utf-8"), body, b"\0"))
            except UnicodeEncodeError:  # a lone surrogate: reported below
                pass
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
    if body:
        lines.append(f"content-length:{len(body)}")
    lines.append("\n")
    try:
        head = "\n".join(lines).encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate
        raise UnrepresentableHeader(f"{command} frame: {error}") from None
    return b"".join((head, body, b"\0"))
