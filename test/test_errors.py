"""
The error hierarchy of L{stomp_twisted.errors}: whole in one module, every
exception a L{StompError}, the public ones exported and documented.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import stomp_twisted
from stomp_twisted import errors, testing
from stomp_twisted.errors import BrokerError, StompError
from stomp_twisted.frame import Frame

TOP = Path(__file__).resolve().parent.parent


class HierarchyTests(SynchronousTestCase):
    """
    One module holds every exception the package raises on purpose.
    """

    def test_all_are_stomp_errors(self) -> None:
        """
        Every exception class the package defines is in
        L{stomp_twisted.errors}, listed in its C{__all__}, and a
        L{StompError}.
        """
        defined = {
            name
            for name, value in vars(errors).items()
            if inspect.isclass(value) and issubclass(value, BaseException)
        }
        self.assertEqual(defined, set(errors.__all__))
        for name in errors.__all__:
            self.assertTrue(issubclass(getattr(errors, name), StompError), name)

    def test_exported_and_documented(self) -> None:
        """
        The exceptions a program catches are exported by the package and
        drawn in C{docs/errors.rst}'s tree; the one C{stomp-send} alone
        raises is drawn but not exported.
        """
        tree = (TOP / "docs" / "errors.rst").read_text()
        for name in errors.__all__:
            self.assertRegex(tree, rf"(── |\n   ){name}\b", name)
            if issubclass(getattr(errors, name), errors.MemoryBrokerError):
                # The in-memory broker's: exported by stomp_twisted.testing.
                self.assertIs(getattr(testing, name), getattr(errors, name))
            elif name != "LineTooLong":
                self.assertIs(getattr(stomp_twisted, name), getattr(errors, name))

    def test_old_homes(self) -> None:
        """
        The exceptions that moved here are still found where they were.
        """
        from stomp_twisted.endpoints import TLSError
        from stomp_twisted.websocket import WebSocketHandshakeError

        self.assertIs(TLSError, errors.TLSError)
        self.assertIs(WebSocketHandshakeError, errors.WebSocketHandshakeError)


class BrokerErrorReasonTests(SynchronousTestCase):
    """
    L{BrokerError.reason}: the broker's words, without the prefix.
    """

    def test_reason(self) -> None:
        """
        The text is the prefix and the reason, the message header and the
        body's first line.
        """
        error = BrokerError(Frame("ERROR", {"message": "Bad CONNECT"}, b"Access refused\nmore"))
        self.assertEqual(error.reason, "Bad CONNECT (Access refused)")
        self.assertEqual(str(error), BrokerError.PREFIX + error.reason)
        self.assertEqual(BrokerError(Frame("ERROR")).reason, "(no message header)")

    def test_follows_redaction(self) -> None:
        """
        When the text is masked (the client hides an echoed passcode in
        the refusals it raises), the reason is masked too.
        """
        error = BrokerError(Frame("ERROR", {"message": "bad passcode s3cret"}))
        error.args = (str(error).replace("s3cret", "***"),)
        self.assertEqual(error.reason, "bad passcode ***")
