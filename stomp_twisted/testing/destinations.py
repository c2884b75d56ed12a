"""
What a L{MemoryBroker<stomp_twisted.testing.MemoryBroker>} keeps:
messages, the queues they wait in, subscriptions, and deliveries awaiting
acknowledgement.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .session import MemoryConnection

__all__ = ["AckMode", "BrokerSubscription", "Delivery", "Message", "is_topic"]

#: The STOMP acknowledgement modes of a C{SUBSCRIBE}.
AckMode = Literal["auto", "client", "client-individual"]

#: The destinations that deliver each message to every subscriber.
TOPIC_PREFIX = "/topic/"


def is_topic(destination: str) -> bool:
    """
    Whether C{destination} is a topic (C{/topic/...}); anything else is a
    queue, created on first use, as ActiveMQ does with unknown names.
    """
    return destination.startswith(TOPIC_PREFIX)


@dataclass(eq=False)
class Message:
    """
    A message held by the broker.

    @ivar id: its C{message-id}; a redelivery keeps it.
    @ivar destination: where it was sent.
    @ivar body: its body.
    @ivar headers: the headers it was sent with, those that only concern
        the C{SEND} frame itself (C{destination}, C{receipt},
        C{transaction}, C{content-length}) left out.
    @ivar redelivered: whether it was delivered before (and then requeued).
    @ivar sequence: the order in which the broker accepted it; a requeued
        message goes back to its place in that order.
    """

    id: str
    destination: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    redelivered: bool = False
    sequence: int = 0

    @property
    def persistent(self) -> bool:
        """
        Whether it was sent with C{persistent:true}.
        """
        return self.headers.get("persistent") == "true"


class Queue:
    """
    Messages waiting for a subscriber, handed out round robin.  A topic
    subscription has a private one.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.waiting: list[Message] = []
        self.subscriptions: list[BrokerSubscription] = []
        self._next = 0

    def put(self, message: Message) -> None:
        """
        Queue C{message} at its place in acceptance order.
        """
        bisect.insort(self.waiting, message, key=lambda m: m.sequence)

    def next_subscription(self) -> BrokerSubscription | None:
        """
        The next subscription, round robin, that may take a message now,
        or C{None}.
        """
        count = len(self.subscriptions)
        for step in range(count):
            index = (self._next + step) % count
            subscription = self.subscriptions[index]
            if subscription.has_room():
                self._next = (index + 1) % count
                return subscription
        return None

    def remove(self, subscription: BrokerSubscription) -> None:
        if subscription in self.subscriptions:
            index = self.subscriptions.index(subscription)
            self.subscriptions.remove(subscription)
            if index < self._next:
                self._next -= 1
            if self._next >= len(self.subscriptions):
                self._next = 0


@dataclass(eq=False)
class BrokerSubscription:
    """
    A client's subscription, as the broker sees it.

    @ivar connection: the connection that made it.
    @ivar id: its C{id} header (under STOMP 1.0, the destination if none
        was given).
    @ivar destination: its C{destination} header.
    @ivar ack: its acknowledgement mode.
    @ivar prefetch: the most unacknowledged messages it may hold
        (C{prefetch-count} or C{activemq.prefetchSize}), or C{None}.
    @ivar queue: the queue it takes messages from: the destination's, or
        its own for a topic.
    @ivar named: whether the client gave an C{id} (MESSAGE frames then
        carry a C{subscription} header).
    """

    connection: MemoryConnection
    id: str
    destination: str
    ack: AckMode
    prefetch: int | None
    queue: Queue
    named: bool = True
    active: bool = True

    def unacknowledged(self) -> int:
        return sum(1 for d in self.connection.deliveries() if d.subscription is self)

    def has_room(self) -> bool:
        if not self.active or not self.connection.is_stomp_connected:
            return False
        return self.prefetch is None or self.ack == "auto" or self.unacknowledged() < self.prefetch


@dataclass(eq=False)
class Delivery:
    """
    A message delivered on a subscription that awaits its ACK or NACK.

    @ivar ack_id: what the client names it by: the C{ack} header under
        STOMP 1.2, the C{message-id} before.
    """

    message: Message
    subscription: BrokerSubscription
    ack_id: str
