"""
In-memory connections: two protocols joined by a L{Pipe}, each writing to
a L{MemoryTransport}.  Bytes written on one side wait in the pipe until
L{Pipe.pump} hands them to the other side's C{dataReceived}, so nothing
ever runs inside the call that wrote it, as with a real network.
"""

from __future__ import annotations

from collections.abc import Iterable

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionAborted, ConnectionDone, ConnectionLost
from twisted.internet.interfaces import (
    IConsumer,
    IProducer,
    IProtocol,
    IPushProducer,
    ITCPTransport,
)
from twisted.python.failure import Failure
from zope.interface import implementer

__all__ = ["MemoryTransport", "Pipe"]


@implementer(ITCPTransport, IConsumer, IPushProducer)
class MemoryTransport:
    """
    One side's transport of a L{Pipe}.

    @ivar disconnecting: whether this side asked to close.
    """

    def __init__(self, pipe: Pipe, side: int, host: IPv4Address, peer: IPv4Address) -> None:
        self._pipe = pipe
        self._side = side
        self._host = host
        self._peer = peer
        self.disconnecting = False
        self.producer: IProducer | None = None

    # ITransport

    def write(self, data: bytes) -> None:
        self._pipe.write(self._side, data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        self._pipe.write(self._side, b"".join(data))

    def loseConnection(self) -> None:
        self.disconnecting = True
        self._pipe.lose(self._side)

    def abortConnection(self) -> None:
        self.disconnecting = True
        self._pipe.abort(self._side)

    def getPeer(self) -> IPv4Address:
        return self._peer

    def getHost(self) -> IPv4Address:
        return self._host

    # ITCPTransport's remaining knobs, which mean nothing in memory.

    def loseWriteConnection(self) -> None:
        self.loseConnection()

    def getTcpNoDelay(self) -> bool:
        return True

    def setTcpNoDelay(self, enabled: bool) -> None:
        pass

    def getTcpKeepAlive(self) -> bool:
        return False

    def setTcpKeepAlive(self, enabled: bool) -> None:
        pass

    # IConsumer: the pipe never fills, so a producer is never paused.

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        self.producer = producer

    def unregisterProducer(self) -> None:
        self.producer = None

    # IPushProducer: this side stops and resumes reading.

    def pauseProducing(self) -> None:
        self._pipe.set_reading(self._side, False)

    def resumeProducing(self) -> None:
        self._pipe.set_reading(self._side, True)

    def stopProducing(self) -> None:
        self.loseConnection()


def _failure(error: Exception) -> Failure:
    return Failure(error)  # type: ignore[no-untyped-call]


class Pipe:
    """
    Two protocols connected in memory.

    Side 0 is the broker's, side 1 the client's.  Writes wait in the pipe
    until L{pump}; a side that paused reading receives nothing until it
    resumes.  Closing follows TCP: L{MemoryTransport.loseConnection}
    closes once what its side wrote has been delivered, and both sides
    then get C{connectionLost} with L{ConnectionDone};
    L{MemoryTransport.abortConnection} discards what is waiting, and the
    side that aborted gets L{ConnectionAborted}, the other
    L{ConnectionLost}.  L{drop} is a network failure: both sides get
    L{ConnectionLost} at once.

    @ivar closed: whether both sides have been told the connection is
        gone.
    """

    def __init__(
        self,
        broker_side: IProtocol,
        client_side: IProtocol,
        broker_address: IPv4Address,
        client_address: IPv4Address,
    ) -> None:
        self._protocols = (broker_side, client_side)
        self._transports = (
            MemoryTransport(self, 0, broker_address, client_address),
            MemoryTransport(self, 1, client_address, broker_address),
        )
        self._waiting: tuple[list[bytes], list[bytes]] = ([], [])
        self._reading = [True, True]
        self._closing: int | None = None
        self._aborted: int | None = None
        self.closed = False

    def open(self) -> None:
        """
        Tell both protocols they are connected, the broker's first.
        """
        self._protocols[0].makeConnection(self._transports[0])
        self._protocols[1].makeConnection(self._transports[1])

    def write(self, side: int, data: bytes) -> None:
        if data and not self.closed and self._aborted is None and self._closing != side:
            self._waiting[side].append(bytes(data))

    def lose(self, side: int) -> None:
        if self._closing is None:
            self._closing = side

    def abort(self, side: int) -> None:
        if self._aborted is None:
            self._aborted = side

    def set_reading(self, side: int, reading: bool) -> None:
        self._reading[side] = reading

    def pump(self) -> bool:
        """
        Deliver what each side wrote to the other (unless it paused
        reading), and complete a requested close.

        @return: whether anything happened.
        """
        if self.closed:
            return False
        if self._aborted is not None:
            aborter = self._aborted
            lost = _failure(ConnectionLost("the peer aborted the connection"))
            reasons = [lost, lost]
            reasons[aborter] = _failure(ConnectionAborted())
            self._finish(reasons[0], reasons[1])
            return True
        progress = False
        for writer in (0, 1):
            reader = 1 - writer
            waiting = self._waiting[writer]
            if waiting and self._reading[reader]:
                data = b"".join(waiting)
                waiting.clear()
                self._protocols[reader].dataReceived(data)
                progress = True
                if self.closed or self._aborted is not None:
                    return True
        if self._closing is not None and not self._waiting[self._closing]:
            done = _failure(ConnectionDone())
            self._finish(done, done)
            return True
        return progress

    def drop(self, reason: str) -> None:
        """
        Fail the connection now, as a broken network would: what is
        waiting is lost.
        """
        if not self.closed:
            lost = _failure(ConnectionLost(reason))
            self._finish(lost, lost)

    def _finish(self, broker_reason: Failure, client_reason: Failure) -> None:
        self.closed = True
        for waiting in self._waiting:
            waiting.clear()
        for transport in self._transports:
            transport.disconnecting = True
        # The broker's side first: what the client held is back in its
        # queues before the client reacts (and perhaps reconnects).
        self._protocols[0].connectionLost(broker_reason)
        self._protocols[1].connectionLost(client_reason)
