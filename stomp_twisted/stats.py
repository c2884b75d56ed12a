"""
Counters a health check can read: L{StompClient.stats
<stomp_twisted.client.StompClient.stats>} returns a L{ClientStats}
snapshot.

The counters are plain integer attributes that the client adds to as it
goes (one addition per message, frame or read), so they are always on;
the snapshot is built only when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClientStats", "Counters"]


class Counters:
    """
    The client's running totals, over every connection it has made.

    Not API (C{docs/api.rst}): the client's own; programs read a
    L{ClientStats} snapshot.
    """

    __slots__ = (
        "acknowledged",
        "bytes_in",
        "bytes_out",
        "connections",
        "messages_received",
        "nacked",
        "receipts",
        "redelivered",
        "sent",
    )

    def __init__(self) -> None:
        self.messages_received = 0
        self.redelivered = 0
        self.acknowledged = 0
        self.nacked = 0
        self.sent = 0
        self.receipts = 0
        self.connections = 0
        # Bytes of connections already closed; the current one's are its
        # protocol's own.
        self.bytes_in = 0
        self.bytes_out = 0


@dataclass(frozen=True)
class ClientStats:
    """
    A snapshot of a client's counters.

    @ivar messages_received: messages delivered to callbacks: MESSAGE
        frames received, and the client's own redeliveries where the
        broker's C{NACK} would dead-letter (ActiveMQ, see
        L{RedeliveryPolicy<stomp_twisted.redelivery.RedeliveryPolicy>}).
    @ivar redelivered: of those, the ones marked as delivered before
        (C{redelivered:true}).
    @ivar acknowledged: ACK frames written, by the caller or automatically.
    @ivar nacked: NACK frames written.
    @ivar sent: SEND frames written (a message the outbox sends again
        counts again).
    @ivar receipts: RECEIPT frames received.
    @ivar receipts_pending: requests still waiting for their receipt on the
        current connection.
    @ivar outbox_queued: messages the outbox holds until the next
        connection.
    @ivar unacknowledged: received messages waiting for their ACK or NACK.
    @ivar in_flight: received messages whose callbacks are still running.
    @ivar connections: sessions established (CONNECTED received).
    @ivar reconnects: sessions established after the first.
    @ivar connected: whether the client has a session now.
    @ivar bytes_in: bytes received, over every connection.
    @ivar bytes_out: bytes written, over every connection.
    """

    messages_received: int
    redelivered: int
    acknowledged: int
    nacked: int
    sent: int
    receipts: int
    receipts_pending: int
    outbox_queued: int
    unacknowledged: int
    in_flight: int
    connections: int
    reconnects: int
    connected: bool
    bytes_in: int
    bytes_out: int
