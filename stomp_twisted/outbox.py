"""
The outbox: messages sent but not yet confirmed by the broker, kept so
that they can be sent again after a reconnection.

With an outbox, a caller who waits on C{send()} gets at-least-once
delivery across broker restarts: a message whose receipt was lost with
its connection is sent again on the next one.  The price is the
possibility of duplicates: if the broker took the message but the
connection died before its RECEIPT arrived, the broker gets it twice.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from twisted.internet.defer import Deferred

from .errors import BadArgument, OutboxFull
from .frame import Frame

__all__ = ["Outbox", "OutboxPolicy"]


@dataclass(frozen=True)
class OutboxPolicy:
    """
    Bounds on the unconfirmed messages an outbox keeps (queued and in
    flight together); a send past either fails at once with
    L{OutboxFull}.

    @ivar max_messages: how many.
    @ivar max_bytes: how many body bytes.
    @ivar max_losses: how many lost sessions in a row a message may be
        blamed for (it was the oldest one the broker had not confirmed when
        the session ended) before it is failed, with the broker's error,
        and dropped from the outbox.
    """

    max_messages: int = 10_000
    max_bytes: int = 64 * 1024 * 1024
    max_losses: int = 5

    def __post_init__(self) -> None:
        for name in ("max_messages", "max_bytes", "max_losses"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise BadArgument(f"{name} must be an int, not {value!r}")
        if self.max_messages < 1 or self.max_bytes < 1 or self.max_losses < 1:
            raise BadArgument("outbox bounds must be positive")


@dataclass(eq=False)
class OutboxEntry:
    """
    One unconfirmed message.

    @ivar frame: the SEND frame.
    @ivar receipt: whether the caller asked for a receipt.
    @ivar result: what the caller waits on.
    @ivar attempts: how many times it has been written.
    @ivar losses: how many lost sessions in a row it was blamed for.
    """

    frame: Frame
    receipt: bool
    result: Deferred[Frame | None] = field(default_factory=Deferred)
    attempts: int = 0
    losses: int = 0


class Outbox:
    """
    Unconfirmed messages, in the order they were sent.
    """

    def __init__(self, policy: OutboxPolicy) -> None:
        self.policy = policy
        self._queued: deque[OutboxEntry] = deque()
        self._count = 0
        self._bytes = 0

    @property
    def unconfirmed(self) -> tuple[int, int]:
        """
        The messages and body bytes held, queued and in flight.
        """
        return self._count, self._bytes

    @property
    def queued(self) -> int:
        """
        The messages waiting for a connection.
        """
        return len(self._queued)

    def admit(self, frame: Frame, receipt: bool) -> OutboxEntry:
        """
        Take a new message in.

        @raise OutboxFull: if it would exceed the policy's bounds.
        """
        size = len(frame.body)
        if self._count + 1 > self.policy.max_messages:
            raise OutboxFull(f"the outbox holds {self._count} unconfirmed messages, its maximum")
        if self._bytes + size > self.policy.max_bytes:
            raise OutboxFull(
                f"the outbox holds {self._bytes} bytes of unconfirmed messages; "
                f"{size} more would pass its maximum of {self.policy.max_bytes}"
            )
        self._count += 1
        self._bytes += size
        return OutboxEntry(frame, receipt)

    def queue(self, entry: OutboxEntry, first: bool = False) -> None:
        """
        Hold C{entry} until the next connection; C{first} puts it before
        the others (it was sent before them).
        """
        if first:
            self._queued.appendleft(entry)
        else:
            self._queued.append(entry)

    def take_queued(self) -> list[OutboxEntry]:
        """
        Every queued entry, oldest first, to be written now.
        """
        entries = list(self._queued)
        self._queued.clear()
        return entries

    def release(self, entry: OutboxEntry) -> None:
        """
        Forget C{entry}: it was confirmed, or failed for good.
        """
        self._count -= 1
        self._bytes -= len(entry.frame.body)

    def fail_queued(self, error: Exception) -> None:
        """
        Fail every queued entry with C{error}.
        """
        for entry in self.take_queued():
            self.release(entry)
            entry.result.errback(error)
