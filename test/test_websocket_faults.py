"""
STOMP over WebSocket against servers that misbehave on purpose (an
in-process autobahn server on 127.0.0.1, as in L{test.test_websocket}):
a message past the client's frame limits, a Close frame without the TCP
close that should follow, an upgrade never answered.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.protocol import Factory, Protocol

from stomp_twisted import NotConnected, StompClient
from stomp_twisted.frame import FrameLimits

from .hostile import deadline, reactor
from .test_websocket import StompServer, StompServerProtocol, _Serving


def _disconnected(client: StompClient) -> Deferred[str]:
    # The first "disconnect" event's reason.
    lost: Deferred[str] = Deferred()
    client.reg_cb("disconnect", lambda _c, why: None if lost.called else lost.callback(why))
    return lost


class KeepsTCPOpen(StompServerProtocol):
    """
    Never drops the TCP connection, even once the closing handshake is
    done (a server should).
    """

    def dropConnection(self, abort: bool = False) -> None:
        self.factory.drops_refused += 1


class KeepingServer(StompServer):
    protocol = KeepsTCPOpen
    drops_refused = 0


class WebSocketFaultTests(_Serving):
    def test_message_past_the_limits(self) -> Deferred[None]:
        """
        A WebSocket message longer than a frame may be (C{max_header_block}
        + C{max_body}, and room for more frames) ends the connection as
        soon as its length passes that, even in fragments: the client does
        not gather it whole first.
        """

        async def run() -> None:
            server, url = self.serve()
            limits = FrameLimits(max_body=100_000)
            client = self.client(url, reconnect=None, limits=limits)
            lost = _disconnected(client)
            await deadline(client.when_connected(), what="CONNECTED")
            too_long = limits.max_header_block + limits.max_body + 64 * 1024 + 1
            # Fragments of 16 KiB: the bound is reached before the end.
            server.sessions[0].sendMessage(b"x" * too_long, isBinary=True, fragmentSize=16384)
            why = await deadline(lost, what="the disconnect")
            self.assertIn("exceeds payload limit", why)

        return ensureDeferred(run())

    def test_close_frame_without_tcp_close(self) -> Deferred[None]:
        """
        A server that sends its Close frame and then leaves TCP open ends
        the session at once all the same (the client drops TCP once both
        Close frames are sent), and its close code and reason are
        reported.
        """

        async def run() -> None:
            server = KeepingServer()
            port = reactor.listenTCP(0, server, interface="127.0.0.1")
            self.addCleanup(port.stopListening)
            url = f"ws://127.0.0.1:{port.getHost().port}/ws"
            client = self.client(url, reconnect=None)
            lost = _disconnected(client)
            await deadline(client.when_connected(), what="CONNECTED")
            session = server.sessions[0]
            gone: Deferred[None] = Deferred()
            original = session.connectionLost

            def connection_lost(reason: Any) -> None:
                original(reason)
                gone.callback(None)

            session.connectionLost = connection_lost  # type: ignore[method-assign]
            session.sendClose(4000, "going away")
            why = await deadline(lost, 5, "the disconnect")
            self.assertIn("code 4000", why)
            self.assertIn("going away", why)
            await deadline(gone, 5, "the client to drop TCP")
            self.assertGreaterEqual(server.drops_refused, 1)

        return ensureDeferred(run())

    def test_upgrade_never_answered(self) -> Deferred[None]:
        """
        A server that accepts TCP and never answers the upgrade fails the
        attempt after C{connect_timeout}, saying TCP connected and the
        WebSocket handshake did not finish.
        """

        async def run() -> None:
            port = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
            self.addCleanup(port.stopListening)
            number = port.getHost().port
            client = self.client(f"ws://127.0.0.1:{number}/ws", reconnect=None, connect_timeout=0.5)
            with self.assertRaises(NotConnected) as caught:
                await deadline(client.when_connected(), what="the failure")
            self.assertIn(
                f"connected to 127.0.0.1:{number}, but the WebSocket handshake did not finish",
                str(caught.exception),
            )

        return ensureDeferred(run())
