"""
What belongs to one connection, and goes with it.  Not API.

A L{Session} is made when a transport connects and dropped when it is
lost: the handshake timer, the messages that still wait for their
acknowledgement, the acknowledgements sent inside transactions, the
automatic NACKs waiting for their redelivery delay.  Dropping it cancels
its timers, so nothing of a lost connection outlives it; a message
acknowledged later finds no session, which is what the broker sees too
(it redelivers the messages of a lost connection).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.internet.interfaces import IDelayedCall

from .protocol import StompProtocol

if TYPE_CHECKING:
    from ._subscriptions import Subscription

__all__ = ["Delivery", "Session", "ack_key"]


def ack_key(version: str | None, headers: Mapping[str, str]) -> str | None:
    """
    The id a received message is acknowledged by under C{version}: its
    C{ack} header under 1.2 (its C{message-id} where the broker sent none,
    as coilmq does), its C{message-id} before.
    """
    if version == "1.2":
        key = headers.get("ack")
        return key if key is not None else headers.get("message-id")
    return headers.get("message-id")


@dataclass(eq=False)
class Delivery:
    """
    A received message that still waits for an ACK or NACK.
    """

    session: Session
    subscription: Subscription
    headers: dict[str, str]


class Session:
    """
    One connection to a broker, from the transport's connection to its loss.

    @ivar protocol: the connection's protocol.
    @ivar unacked: the deliveries awaiting acknowledgement, by ack id.
    @ivar settled_in: ACKs and NACKs sent inside a transaction, by
        transaction id then ack id: an ABORT makes them unacknowledged
        again.
    @ivar delayed: automatic NACKs waiting for their redelivery delay, by
        ack id.
    @ivar loss_blamed: whether this connection's loss has been blamed on
        the oldest unconfirmed outbox message already.
    @ivar goodbye_sent: whether DISCONNECT is written: nothing, not even
        an automatic ACK, may follow it.
    """

    __slots__ = (
        "_handshake_timer",
        "delayed",
        "goodbye_sent",
        "loss_blamed",
        "protocol",
        "settled_in",
        "unacked",
    )

    def __init__(self, protocol: StompProtocol) -> None:
        self.protocol = protocol
        self.unacked: dict[str, Delivery] = {}
        self.settled_in: dict[str, dict[str, Delivery]] = {}
        self.delayed: dict[str, IDelayedCall] = {}
        self.loss_blamed = False
        self.goodbye_sent = False
        self._handshake_timer: IDelayedCall | None = None

    @property
    def established(self) -> bool:
        """
        Whether CONNECTED arrived and the connection is still usable.
        """
        return self.protocol.is_stomp_connected

    @property
    def version(self) -> str | None:
        """
        The negotiated version, or C{None} before CONNECTED.
        """
        return self.protocol.version

    def start_handshake_timer(self, timer: IDelayedCall) -> None:
        """
        Keep the timer that ends the attempt if CONNECTED is late.
        """
        self._handshake_timer = timer

    def stop_handshake_timer(self) -> None:
        """
        CONNECTED came, or the connection went.
        """
        timer, self._handshake_timer = self._handshake_timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def cancel_delayed(self, key: str) -> bool:
        """
        Cancel the delayed NACK of C{key}; return whether there was one.
        """
        timer = self.delayed.pop(key, None)
        if timer is None:
            return False
        if timer.active():
            timer.cancel()
        return True

    def drop(self, on_delayed_dropped: Callable[[], object]) -> None:
        """
        The connection is gone: cancel its timers and forget its
        deliveries (the broker redelivers them).

        @param on_delayed_dropped: called once for each delayed NACK
            dropped (each counted as a message in flight).
        """
        self.stop_handshake_timer()
        for key in list(self.delayed):
            self.cancel_delayed(key)
            on_delayed_dropped()
        self.unacked.clear()
        self.settled_in.clear()
