"""
Poison messages: how often, and how fast, a message whose callbacks keep
failing may come back.

Under C{ack="auto"} the client refuses (C{NACK}s) a message whose callbacks
failed, and RabbitMQ requeues a refused message and delivers it again at
once: a message that always fails would loop thousands of times a second.
A L{RedeliveryPolicy} makes the client wait before each C{NACK}, longer
for each delivery of the same message, and give up on the message after
C{max_deliveries}: it is then rejected for good (C{NACK} with
C{requeue:false}: RabbitMQ drops it or dead-letters it where the queue has
a dead-letter exchange) or acknowledged, and reported with the client's
C{"poison"} event.

A L{DeliveryCounter} counts the deliveries of each message across
redeliveries, within a bounded memory.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ._durations import check_multiplier, check_seconds
from .errors import BadArgument

__all__ = [
    "DEFAULT_REDELIVERY",
    "DeliveryCounter",
    "Exhausted",
    "RedeliveryPolicy",
]

#: What to do with a message once it was delivered C{max_deliveries} times
#: and failed each time: C{"reject"} it for good, or C{"ack"} it (drop it).
Exhausted = Literal["reject", "ack"]

# Headers that change from one delivery of a message to the next, and so
# do not identify it: RabbitMQ numbers each delivery in its message-id.
_PER_DELIVERY_HEADERS = frozenset(
    {"message-id", "ack", "redelivered", "subscription", "x-delivery-count", "redeliveryCounter"}
)


@dataclass(frozen=True)
class RedeliveryPolicy:
    """
    How a subscription with C{ack="auto"} treats a message whose callbacks
    failed.

    The C{n}th failed delivery of a message is refused after
    C{min(initial_delay * multiplier ** (n - 1), max_delay)} seconds,
    during which the message counts as in flight for flow control.  The
    default (0.25 s, doubling, at most 5 deliveries) lets a message that
    always fails come back at 0.25, 0.75, 1.75 and 3.75 s, then rejects it:
    five deliveries in about four seconds, instead of thousands a second.

    @ivar initial_delay: seconds before refusing the first failed
        delivery; C{0} refuses at once.
    @ivar multiplier: how much longer each next delay is (at least C{1}).
    @ivar max_delay: the longest delay, in seconds.
    @ivar max_deliveries: after this many failed deliveries the message is
        given up on (see C{on_exhausted}); C{None} never gives up (the
        broker keeps redelivering, at most every C{max_delay} seconds).
    @ivar on_exhausted: C{"reject"} (the default) refuses the message for
        good: a C{NACK} with C{requeue:false}, which RabbitMQ drops or
        dead-letters (where the queue has a dead-letter exchange) and
        ActiveMQ moves to its dead-letter queue (C{ActiveMQ.DLQ}, for
        persistent messages); C{"ack"} acknowledges it instead, so that
        the broker forgets it.  Either way the client fires C{"poison"}.
        Under STOMP 1.0, which has no C{NACK}, the message is acknowledged.
    """

    initial_delay: float = 0.25
    multiplier: float = 2.0
    max_delay: float = 30.0
    max_deliveries: int | None = 5
    on_exhausted: Exhausted = "reject"

    def __post_init__(self) -> None:
        check_seconds(self.initial_delay, "initial_delay")
        check_seconds(self.max_delay, "max_delay")
        check_multiplier(self.multiplier)
        if self.max_delay < self.initial_delay:
            raise BadArgument(
                f"max_delay ({self.max_delay!r}) must not be less than "
                f"initial_delay ({self.initial_delay!r})"
            )
        deliveries = self.max_deliveries
        if deliveries is not None and (
            isinstance(deliveries, bool) or not isinstance(deliveries, int) or deliveries < 1
        ):
            raise BadArgument(f"max_deliveries must be None or at least 1, not {deliveries!r}")
        if self.on_exhausted not in ("reject", "ack"):
            raise BadArgument(f"on_exhausted must be 'reject' or 'ack', not {self.on_exhausted!r}")

    def delay(self, deliveries: int) -> float:
        """
        @param deliveries: how many times the message was delivered,
            counting this delivery (at least 1).
        @return: the seconds to wait before refusing this delivery.
        """
        exponent = max(0, deliveries - 1)
        if self.multiplier == 1 or self.initial_delay == 0:
            return min(float(self.initial_delay), float(self.max_delay))
        # Past this exponent the delay is max_delay anyway: no overflow.
        ceiling = math.log(self.max_delay / self.initial_delay, self.multiplier)
        if exponent >= ceiling:
            return float(self.max_delay)
        return min(self.initial_delay * self.multiplier**exponent, float(self.max_delay))

    def exhausted(self, deliveries: int) -> bool:
        """
        @return: whether a message that failed on its C{deliveries}th
            delivery is to be given up on.
        """
        return self.max_deliveries is not None and deliveries >= self.max_deliveries


#: The client's default policy (see L{RedeliveryPolicy}).
DEFAULT_REDELIVERY = RedeliveryPolicy()


class DeliveryCounter:
    """
    How many times each message has been delivered, across redeliveries,
    for the most recently failed messages.

    A message is recognised by its destination, its body and the headers
    that do not change between deliveries: RabbitMQ gives every delivery
    a new C{message-id}, so that cannot identify a message.  The broker's
    own count is used where it gives one: RabbitMQ's quorum queues send
    C{x-delivery-count} (deliveries before this one), and
    C{redelivered:false} (RabbitMQ) marks a first delivery.

    Only messages that failed are remembered (their fingerprint is taken
    then, not for every message), at most C{capacity} of them, the least
    recently failed forgotten first.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        """
        @param capacity: how many messages to remember at most.
        @raise BadArgument: if C{capacity} is not a positive int.
        """
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise BadArgument(f"capacity must be a positive int, not {capacity!r}")
        self._capacity = capacity
        self._counts: OrderedDict[bytes, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._counts)

    def failed(self, destination: str, headers: Mapping[str, str], body: bytes) -> int:
        """
        Record that a delivery of this message failed.

        @return: how many times it has been delivered, this delivery
            included.
        """
        key = _fingerprint(destination, headers, body)
        deliveries = self._count(key, headers)
        self._counts[key] = deliveries
        self._counts.move_to_end(key)
        while len(self._counts) > self._capacity:
            self._counts.popitem(last=False)
        return deliveries

    def succeeded(self, destination: str, headers: Mapping[str, str], body: bytes) -> None:
        """
        Forget a message that was handled at last.
        """
        if self._counts:
            self._counts.pop(_fingerprint(destination, headers, body), None)

    def forget(self, destination: str, headers: Mapping[str, str], body: bytes) -> None:
        """
        Forget a message that was given up on.
        """
        self.succeeded(destination, headers, body)

    def _count(self, key: bytes, headers: Mapping[str, str]) -> int:
        broker_count = _broker_count(headers)
        if broker_count is not None:
            return broker_count
        if headers.get("redelivered") == "false":
            return 1
        known = self._counts.get(key, 0)
        if headers.get("redelivered") == "true":
            return max(known, 1) + 1
        return known + 1


def _broker_count(headers: Mapping[str, str]) -> int | None:
    # x-delivery-count: deliveries before this one (RabbitMQ quorum queues).
    value = headers.get("x-delivery-count")
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 9:
        return None
    return int(value) + 1


def _fingerprint(destination: str, headers: Mapping[str, str], body: bytes) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(destination.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    for name in sorted(headers):
        if name in _PER_DELIVERY_HEADERS or name == "destination":
            continue
        digest.update(name.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
        digest.update(headers[name].encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    digest.update(body)
    return digest.digest()
