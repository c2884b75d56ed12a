"""
How C{stomp-listen} writes messages: L{format_message} renders one in
each output format (L{FORMATS}), and L{write_fully} hands it to the
output, whole and flushed, before it may be acknowledged.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
from typing import Any, Protocol

from .errors import BadArgument

__all__ = ["FORMATS", "Output", "format_message", "write_fully"]

#: The output formats: the body alone, JSON lines, and a form for people.
FORMATS = ("body", "json", "pretty")

# Control characters shown escaped in the pretty format, so that a message
# cannot drive the terminal; a body keeps its tabs and newlines.
_HEADER_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_HEADER_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_BODY_ESCAPES = {c: e for c, e in _HEADER_ESCAPES.items() if c not in (0x09, 0x0A)}


def _hexdump(data: bytes) -> list[str]:
    # As hexdump -C shows it.
    lines = []
    for offset in range(0, len(data), 16):
        chunk = data[offset : offset + 16]
        left = " ".join(f"{b:02x}" for b in chunk[:8])
        right = " ".join(f"{b:02x}" for b in chunk[8:])
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {left:<23}  {right:<23}  |{text}|")
    return lines


def _timestamp(when: float) -> str:
    moment = datetime.datetime.fromtimestamp(when).astimezone()
    return (
        moment.strftime("%Y-%m-%d %H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}"
        + (moment.strftime(" %z"))
    )


def format_message(
    body: bytes,
    headers: dict[str, str],
    style: str,
    *,
    number: int = 1,
    received: float = 0.0,
) -> bytes:
    """
    One message as written to the output.

    @param style: C{"body"}: the body and a newline (binary bodies as they
        are); C{"json"}: one line, a JSON object with C{destination},
        C{headers} and C{body}, or C{body_base64} (base64) instead of
        C{body} when the body is not UTF-8; C{"pretty"}: a heading line
        (number, destination, time received), the headers, a blank line,
        the body (control characters escaped; a hex dump if it is not
        UTF-8) and a blank line.
    @param number: the message's number, from 1, for C{"pretty"}.
    @param received: when it arrived (seconds since the epoch), for
        C{"pretty"}.
    @raise BadArgument: for a style not in L{FORMATS}.
    """
    if style == "body":
        return body + b"\n"
    destination = headers.get("destination")
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if style == "json":
        record: dict[str, Any] = {"destination": destination, "headers": headers}
        if text is not None:
            record["body"] = text
        else:
            record["body_base64"] = base64.b64encode(body).decode("ascii")
        return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"
    if style != "pretty":
        raise BadArgument(f"unknown format {style!r}; expected one of {', '.join(FORMATS)}")
    where = str(destination).translate(_HEADER_ESCAPES)
    lines = [f"=== message {number} from {where} at {_timestamp(received)}"]
    for name, value in headers.items():
        lines.append(f"  {name.translate(_HEADER_ESCAPES)}: {value.translate(_HEADER_ESCAPES)}")
    lines.append("")
    if not body:
        lines.append("(empty body)")
    elif text is None:
        lines.append(f"(binary body, {len(body)} bytes)")
        lines.extend(_hexdump(body))
    else:
        lines.append(text.translate(_BODY_ESCAPES).removesuffix("\n"))
    lines.append("")
    return ("\n".join(lines) + "\n").encode("utf-8")


class Output(Protocol):
    """
    Where messages are written: a binary file.
    """

    def write(self, data: bytes, /) -> int | None: ...

    def flush(self) -> None: ...


def write_fully(output: Output, data: bytes, fsync: bool) -> None:
    """
    Write all of C{data}, then flush the output (and C{fsync} it if
    asked): only then may the message be acknowledged.

    @raise OSError: if the output fails (a closed pipe, a full disk), or
        would block.
    """
    while data:
        written = output.write(data)
        if written is None:
            raise BlockingIOError("the output would block")
        data = data[written:]
    output.flush()
    if fsync:
        os.fsync(getattr(output, "fileno")())  # noqa: B009
