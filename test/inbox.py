"""
Recording what a client receives, with waits on it, for tests against
real brokers and against the double alike.  Waits are not bounded here:
the caller bounds them as its reactor allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred

from stomp_twisted import StompClient

Headers = dict[str, str]


class Inbox:
    """
    A subscription callback (or C{MESSAGE} observer) that records what
    arrives.
    """

    def __init__(
        self,
        reply: Callable[[bytes, Headers], object] | None = None,
        subscription: str | None = None,
    ) -> None:
        """
        @param reply: computes what the callback returns for a message (a
            Deferred makes ack="auto" wait for it).
        @param subscription: as a C{MESSAGE} observer, record only the
            messages of this subscription id.
        """
        self.messages: list[tuple[bytes, Headers]] = []
        self._reply = reply
        self._subscription = subscription
        self._waiters: list[tuple[Callable[[], object], Deferred[Any]]] = []

    def __call__(self, client: StompClient, body: bytes, headers: Headers) -> object:
        if self._subscription not in (None, headers.get("subscription")):
            return None
        self.messages.append((body, headers))
        for waiter in list(self._waiters):
            self._check(waiter)
        return None if self._reply is None else self._reply(body, headers)

    @property
    def bodies(self) -> list[bytes]:
        return [body for body, _ in self.messages]

    def _check(self, waiter: tuple[Callable[[], object], Deferred[Any]]) -> None:
        test, deferred = waiter
        if deferred.called:  # timed out, or cancelled
            self._waiters.remove(waiter)
            return
        result = test()
        if result is not None:
            self._waiters.remove(waiter)
            deferred.callback(result)

    def _wait(self, test: Callable[[], object]) -> Deferred[Any]:
        waiter: tuple[Callable[[], object], Deferred[Any]] = (test, Deferred())
        self._waiters.append(waiter)
        self._check(waiter)
        return waiter[1]

    def wait_for(self, body: bytes, occurrence: int = 1) -> Deferred[Headers]:
        """
        The headers of the C{occurrence}th message with C{body}, once it
        has arrived.
        """

        def test() -> Headers | None:
            found = [headers for b, headers in self.messages if b == body]
            return found[occurrence - 1] if len(found) >= occurrence else None

        return self._wait(test)

    def wait_count(self, count: int) -> Deferred[list[bytes]]:
        """
        The bodies, once at least C{count} messages have arrived.
        """
        return self._wait(lambda: self.bodies if len(self.messages) >= count else None)


def next_event(client: StompClient, event: str) -> Deferred[tuple[Any, ...]]:
    """
    The arguments of the next C{event} observed on C{client}.
    """
    fired: Deferred[tuple[Any, ...]] = Deferred()

    def observe(*args: Any) -> None:
        if not fired.called:
            fired.callback(args)

    client.reg_cb(event, observe)
    return fired
