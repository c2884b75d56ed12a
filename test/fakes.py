"""
In-memory stand-ins for the network, for testing L{stomp_twisted.client}.

L{FakeEndpoint} is an C{IStreamClientEndpoint} that connects each protocol
it builds to a L{StringTransport}; each L{FakeConnection} it records plays
the broker: it feeds the client frames and parses what the client wrote.
"""

from __future__ import annotations

from collections.abc import Mapping

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IProtocolFactory, IStreamClientEndpoint
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from zope.interface import implementer

from stomp_twisted.frame import Frame, Heartbeat, parse_frames, serialize_frame
from stomp_twisted.protocol import StompProtocol

__all__ = ["FakeConnection", "FakeEndpoint"]

BROKER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 61613)


class FakeConnection:
    """
    One connection the client made through a L{FakeEndpoint}, seen from
    the broker's side.

    @ivar protocol: the client's L{StompProtocol} for this connection.
    @ivar transport: the L{StringTransport} it writes to.
    """

    def __init__(self, protocol: StompProtocol, transport: StringTransport) -> None:
        self.protocol = protocol
        self.transport = transport

    def receive(
        self,
        command: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        version: str | None = None,
    ) -> None:
        """
        Deliver one broker frame to the client, serialized for C{version}
        (the negotiated one by default, C{1.2} before CONNECTED).
        """
        wire_version = version or self.protocol.version or "1.2"
        self.protocol.dataReceived(
            serialize_frame(Frame(command, dict(headers or {}), body), wire_version)
        )

    def connected(self, version: str | None = "1.2", **headers: str) -> None:
        """
        Answer CONNECT with CONNECTED; C{version=None} leaves the
        C{version} header out, as a STOMP 1.0 broker does.
        """
        frame_headers = dict(headers)
        if version is not None:
            frame_headers["version"] = version
        self.receive("CONNECTED", frame_headers, version="1.0")

    def receipt(self, receipt_id: str) -> None:
        """
        Send the RECEIPT for C{receipt_id}.
        """
        self.receive("RECEIPT", {"receipt-id": receipt_id})

    def sent(self) -> list[Frame]:
        """
        The frames the client wrote since the last call (heart-beat EOLs
        left out), parsed as the negotiated version; the transport is
        cleared.
        """
        data = self.transport.value()
        self.transport.clear()
        events = parse_frames(data, self.protocol.version or "1.0")
        return [event for event in events if not isinstance(event, Heartbeat)]

    def sent_one(self) -> Frame:
        """
        The single frame the client wrote since the last L{sent}.

        @raise AssertionError: if it wrote none or several.
        """
        frames = self.sent()
        if len(frames) != 1:
            raise AssertionError(f"expected one frame written, got {frames!r}")
        return frames[0]

    @property
    def closed_by_client(self) -> bool:
        """
        Whether the client asked the transport to close.
        """
        return bool(self.transport.disconnecting)

    def lose(self, reason: Exception | None = None) -> None:
        """
        What the reactor does once the connection is gone: call
        C{connectionLost} (with L{ConnectionDone} unless told otherwise).
        """
        self.protocol.connectionLost(Failure(reason if reason is not None else ConnectionDone()))


@implementer(IStreamClientEndpoint)
class FakeEndpoint:
    """
    An endpoint that connects in memory.

    @ivar refuse: if set, every C{connect} fails with it.
    @ivar pending: if true, C{connect} returns a Deferred that only
        L{complete} fires, as a slow network would.
    @ivar attempts: the number of C{connect} calls.
    @ivar connections: a L{FakeConnection} for each connection made.
    """

    def __init__(self, refuse: Exception | None = None, pending: bool = False) -> None:
        self.refuse = refuse
        self.pending = pending
        self.attempts = 0
        self.connections: list[FakeConnection] = []
        self._waiting: list[tuple[IProtocolFactory, Deferred[StompProtocol]]] = []

    def connect(self, factory: IProtocolFactory) -> Deferred[StompProtocol]:
        self.attempts += 1
        if self.refuse is not None:
            return fail(self.refuse)
        if self.pending:
            waiting: Deferred[StompProtocol] = Deferred()
            self._waiting.append((factory, waiting))
            return waiting
        return succeed(self._connect(factory))

    def complete(self) -> FakeConnection:
        """
        Finish the oldest pending connection attempt.
        """
        factory, waiting = self._waiting.pop(0)
        protocol = self._connect(factory)
        waiting.callback(protocol)
        return self.connections[-1]

    def _connect(self, factory: IProtocolFactory) -> StompProtocol:
        protocol = factory.buildProtocol(BROKER_ADDRESS)
        assert isinstance(protocol, StompProtocol)
        transport = StringTransport(peerAddress=BROKER_ADDRESS)
        self.connections.append(FakeConnection(protocol, transport))
        protocol.makeConnection(transport)
        return protocol

    @property
    def last(self) -> FakeConnection:
        """
        The most recent connection.
        """
        return self.connections[-1]
