"""
Header escaping, both ways: one function per STOMP version and direction.

What each version can write in a header, and how, is decided here and
nowhere else; the encoder (L{stomp_twisted._encoder}), the decoder
(L{stomp_twisted._decoder}) and the client's checks use these.

  - STOMP 1.0 escapes nothing.  What it cannot carry is refused: a NUL, a
    newline or a carriage return anywhere, and a colon in a header name
    (it would end the name).  A colon in a value is harmless, since the
    first colon ends the name, and brokers rely on it: ActiveMQ's message
    ids look like C{ID:host-1234:1:1:1:1} and a 1.0 ACK must repeat them.
  - STOMP 1.1 escapes a backslash, a newline and a colon (C{\\\\},
    C{\\n}, C{\\c}), and cannot carry a NUL or a carriage return.
  - STOMP 1.2 escapes a carriage return too (C{\\r}), and cannot carry a
    NUL.

The handshake (L{UNESCAPED_COMMANDS}) is exempt from escaping in every
version, so that a 1.0-only peer can read it before a version is agreed:
it is written as STOMP 1.0 writes everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from .errors import UndefinedEscape, UnrepresentableHeader

__all__ = [
    "ESCAPERS",
    "UNESCAPED_COMMANDS",
    "UNESCAPERS",
    "UNWRITABLE_IN_NAMES",
    "UNWRITABLE_IN_VALUES",
    "escape_10",
    "escape_11",
    "escape_12",
    "refuse_unwritable",
    "unescape_11",
    "unescape_12",
]

#: The commands whose headers are never escaped: the connection handshake.
UNESCAPED_COMMANDS: Final = frozenset({"CONNECT", "STOMP", "CONNECTED"})

#: What each version cannot write in a header value, escaped or not.
UNWRITABLE_IN_VALUES: Final = {"1.0": "\0\n\r", "1.1": "\0\r", "1.2": "\0"}

#: What each version cannot write in a header name: STOMP 1.0 cannot write
#: a colon there either (it would end the name).
UNWRITABLE_IN_NAMES: Final = {**UNWRITABLE_IN_VALUES, "1.0": "\0\n\r:"}

# The same, one by one, for the escaping functions (a lookup per call
# costs more than the check itself).
_NAMES_10: Final = UNWRITABLE_IN_NAMES["1.0"]
_VALUES_10: Final = UNWRITABLE_IN_VALUES["1.0"]
_VALUES_11: Final = UNWRITABLE_IN_VALUES["1.1"]
_VALUES_12: Final = UNWRITABLE_IN_VALUES["1.2"]

# Why a character cannot be written, for the message.
_WHY: Final = {
    "\0": "STOMP cannot carry in a header",
    "\n": "would end the header line here (header injection)",
    "\r": "this STOMP version cannot escape",
    ":": "would end the header name here",
}


def refuse_unwritable(text: str, what: str, forbidden: str) -> str:
    """
    Check that C{text} holds none of the characters of C{forbidden}.

    @param what: what C{text} is, for the message: C{"header name"},
        C{"header value"}, C{"command"}.
    @return: C{text}.
    @raise UnrepresentableHeader: naming the first of C{forbidden} that
        C{text} holds, and why it cannot be written.
    """
    for char in forbidden:
        if char in text:
            raise UnrepresentableHeader(f"{what} {text!r} contains {char!r}, which {_WHY[char]}")
    return text


# --- writing ------------------------------------------------------------------


def escape_10(text: str, what: str) -> str:
    """
    A header name or value as STOMP 1.0 writes it (and every version
    writes the handshake's): unchanged.

    @param what: C{"header name"} or C{"header value"}.
    @raise UnrepresentableHeader: for what 1.0 cannot carry.
    """
    return refuse_unwritable(text, what, _NAMES_10 if what == "header name" else _VALUES_10)


def escape_11(text: str, what: str) -> str:
    """
    A header name or value escaped as STOMP 1.1 writes it.

    @param what: C{"header name"} or C{"header value"}, for the message.
    @raise UnrepresentableHeader: for a NUL or a carriage return.
    """
    refuse_unwritable(text, what, _VALUES_11)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace(":", "\\c")


def escape_12(text: str, what: str) -> str:
    """
    A header name or value escaped as STOMP 1.2 writes it.

    @param what: C{"header name"} or C{"header value"}, for the message.
    @raise UnrepresentableHeader: for a NUL.
    """
    refuse_unwritable(text, what, _VALUES_12)
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace(":", "\\c")


#: The escaping of each version, by version.
ESCAPERS: Final[dict[str, Callable[[str, str], str]]] = {
    "1.0": escape_10,
    "1.1": escape_11,
    "1.2": escape_12,
}


# --- reading ------------------------------------------------------------------

# What each escape sequence (the character after the backslash) stands for.
_DECODED_11: Final = {"n": "\n", "c": ":", "\\": "\\"}
_DECODED_12: Final = {**_DECODED_11, "r": "\r"}

_ESCAPE_SEQUENCE: Final = re.compile(r"\\(.?)", re.DOTALL)


def unescape_11(text: str) -> str:
    """
    A received header name or value, its STOMP 1.1 escapes decoded.

    @raise UndefinedEscape: for a backslash that begins no 1.1 sequence
        (C{\\r} among them).
    """
    if "\\" not in text:
        return text
    if "\0" not in text:
        # By str.replace, as _unescape_strictly explains; the chain is
        # written out, not looped over: the loop in Python code took a
        # quarter of the instructions of an ActiveMQ message id's unescaping.
        plain = text.replace("\\\\", "\0").replace("\\n", "\n").replace("\\c", ":")
        if "\\" not in plain:
            return plain.replace("\0", "\\")
    return _unescape_strictly(text, _DECODED_11, "1.1")


def unescape_12(text: str) -> str:
    """
    A received header name or value, its STOMP 1.2 escapes decoded.

    @raise UndefinedEscape: for a backslash that begins no 1.2 sequence.
    """
    if "\\" not in text:
        return text
    if "\0" not in text:
        # As in unescape_11, with 1.2's carriage return.
        plain = (
            text.replace("\\\\", "\0").replace("\\n", "\n").replace("\\c", ":").replace("\\r", "\r")
        )
        if "\\" not in plain:
            return plain.replace("\0", "\\")
    return _unescape_strictly(text, _DECODED_12, "1.2")


#: The unescaping of each version, by version; C{None} for STOMP 1.0,
#: which has none.
UNESCAPERS: Final[dict[str, Callable[[str], str] | None]] = {
    "1.0": None,
    "1.1": unescape_11,
    "1.2": unescape_12,
}


def _unescape_strictly(text: str, decoded: dict[str, str], version: str) -> str:
    # What the versions' str.replace chains leave: a text with a NUL, or
    # with a backslash that begins an undefined sequence, which the
    # regular expression reports.  The chains go by str.replace because a
    # regular expression calling back per sequence is slow, and ActiveMQ's
    # message ids hold four each: escaped backslashes out of the way first
    # (as NULs, absent from the text), then the other sequences, then the
    # backslashes back; a backslash left over begins an undefined sequence.

    def replace(match: re.Match[str]) -> str:
        try:
            return decoded[match.group(1)]
        except KeyError:
            raise UndefinedEscape(
                f"undefined escape sequence {match.group(0)!r} in a STOMP {version} header"
            ) from None

    return _ESCAPE_SEQUENCE.sub(replace, text)
