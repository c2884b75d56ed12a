"""
The package's shape (issue 11): no module of C{stomp_twisted/} over 650
lines and no class over 450, so that each stays readable in one sitting;
and the client's collaborators private.
"""

from __future__ import annotations

import ast
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

PACKAGE = Path(__file__).resolve().parent.parent / "stomp_twisted"
MAX_MODULE_LINES = 650
MAX_CLASS_LINES = 450


class LayoutTests(SynchronousTestCase):
    def test_sizes(self) -> None:
        """
        Every module and every class is within its bound.
        """
        too_big = []
        for path in sorted(PACKAGE.rglob("*.py")):
            text = path.read_text()
            lines = text.count("\n")
            if lines > MAX_MODULE_LINES:
                too_big.append(f"{path.relative_to(PACKAGE)}: {lines} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, ast.ClassDef):
                    assert node.end_lineno is not None
                    length = node.end_lineno - node.lineno + 1
                    if length > MAX_CLASS_LINES:
                        too_big.append(f"{path.relative_to(PACKAGE)}: class {node.name}, {length}")
        self.assertEqual(too_big, [])

    def test_client_is_not_a_factory(self) -> None:
        """
        The user's client is a front: the protocol callbacks live on the
        private connection handler, the factory is its own object.
        """
        from twisted.internet.protocol import ClientFactory

        from stomp_twisted import StompClient, StompClientFactory

        self.assertFalse(issubclass(StompClient, ClientFactory))
        self.assertTrue(issubclass(StompClientFactory, ClientFactory))
        for name in ("buildProtocol", "connection_made", "frame_received", "connection_lost"):
            self.assertFalse(hasattr(StompClient, name), name)
