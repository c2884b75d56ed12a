"""
Keeping the passcode out of messages and logs.

A broker may quote it back (an echoed C{CONNECT} in an C{ERROR}, or a
malformed frame that holds it), and the client's messages quote what a
broker sent: the text as decoded, or its C{repr} (bytes or str), or the
header as escaped on the wire.  L{redact} masks each of those forms.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["masked", "redact"]

_Error = TypeVar("_Error", bound=BaseException)

# STOMP 1.1/1.2 header escaping, as a broker echoing a header writes it.
_STOMP_ESCAPES = str.maketrans({"\\": "\\\\", ":": "\\c", "\n": "\\n", "\r": "\\r"})


def _forms(secret: str) -> list[str]:
    # Every way a message may spell the secret, the longest first, so
    # that a form containing another is masked whole.
    escaped = secret.translate(_STOMP_ESCAPES)
    forms = {
        secret,
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
        escaped,
        repr(escaped.encode("utf-8", "surrogatepass"))[2:-1],
    }
    return sorted(forms, key=len, reverse=True)


def redact(text: str, secret: str | None) -> str:
    """
    C{text} with every occurrence of C{secret} replaced by C{***}, as
    written, as C{repr} shows it (of str or of its UTF-8 bytes) and as
    STOMP escapes it in a header: for a broker's message that might echo
    the passcode back.
    """
    if not secret:
        return text
    for form in _forms(secret):
        if form in text:
            text = text.replace(form, "***")
    return text


def masked(error: _Error, secret: str | None) -> _Error:
    """
    C{error} itself, its text (its C{args}) rewritten by L{redact} if it
    held C{secret} in any form.
    """
    if secret:
        text = str(error)
        shown = redact(text, secret)
        if shown != text:
            error.args = (shown,)
    return error
