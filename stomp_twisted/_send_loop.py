"""
C{stomp-send}'s sending: L{Sender} sends each message of a
L{Messages<stomp_twisted._send_input.Messages>} source with a receipt,
keeps a window of them waiting for their receipts, stops at the first one
the broker refuses or does not confirm, and says why in the exit status
and one line of log.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._secrets import redact
from ._send_input import Messages
from .client import StompClient
from .errors import (
    BrokerError,
    ConnectionLost,
    NotConnected,
    ReceiptTimeout,
    SendBufferFull,
    StompError,
)
from .frame import Frame

__all__ = ["DEFAULT_WINDOW", "EXIT_FAILURE", "EXIT_OK", "LOG_NAMESPACE", "Sender"]

#: Every message was sent and confirmed.
EXIT_OK = 0
#: A message was refused or not confirmed, or the broker could not be
#: reached or refused the login: the reason is on standard error.
EXIT_FAILURE = 1
#: How many messages may wait for their receipts at once, by default.
DEFAULT_WINDOW = 100
#: The log namespace of C{stomp-send}'s own lines (C{docs/logging.rst}).
LOG_NAMESPACE = "stomp_twisted.send"
#: How many of the broker's ERROR frames a failure's reason quotes.
_ERRORS_SHOWN = 3

_log = Logger(namespace=LOG_NAMESPACE)


class _Interrupted(Exception):
    """
    A signal asked the sender to stop.

    Control flow between the sender's own waits, never raised to a
    caller (L{Sender.run} catches it): it is not a L{StompError} so that
    the C{except StompError} clauses that report failures cannot take it
    for one.
    """


def _reason(failure: Failure) -> str:
    # What went wrong, in words: the broker's own when it gave some.
    error = failure.value
    if isinstance(error, ConnectionLost) and error.error is not None:
        return f"{error.error} (the connection was closed)"
    if isinstance(error, (StompError, OSError)):
        return str(error) or type(error).__name__
    return f"{type(error).__name__}: {error}"


class Sender:
    """
    Sends each message of a L{Messages} source to one destination with a
    receipt, keeping at most C{window} of them waiting for their receipts,
    and stops at the first one the broker refuses or does not confirm.

    @ivar sent: how many messages were handed to the client.
    @ivar confirmed: how many the broker confirmed.
    @ivar failure: why sending stopped, or C{None}.
    """

    def __init__(
        self,
        client: StompClient,
        destination: str,
        messages: Messages,
        *,
        headers: dict[str, str] | None = None,
        window: int = DEFAULT_WINDOW,
        broker: str = "the broker",
        passcode: str | None = None,
        confirmed: Callable[[int, int], None] | None = None,
    ) -> None:
        """
        @param client: a client, connecting or connected.
        @param destination: where to send.
        @param messages: the bodies to send.
        @param headers: the headers of every message.
        @param window: how many messages may await their receipts at once.
        @param broker: where the client connects, for messages.
        @param passcode: never to be shown, even if the broker echoes it.
        @param confirmed: called with each confirmed message's number and
            size, in order.
        """
        self._client = client
        self._destination = destination
        self._messages = messages
        self._headers = dict(headers or {})
        self._window = window
        self._broker = broker
        self._passcode = passcode
        self._on_confirmed = confirmed
        self._pending: set[Deferred[None]] = set()
        # Fired when a pending message settles: room in the window.
        self._room: Deferred[None] | None = None
        # Fired on interrupt(): each wait races it.
        self._interruptions: list[Deferred[Any]] = []
        self.interrupted_by: int | None = None
        self.sent = 0
        self.confirmed = 0
        self.failure: str | None = None
        # The broker's ERRORs, which explain a connection it closed.
        self._broker_errors: list[str] = []
        client.reg_cb("ERROR", self._error_frame)

    def _error_frame(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        # Every one, as the first may not be the one that says why:
        # RabbitMQ answers frames already on their way with a bare
        # "Processing error" before the ERROR that explains.
        text = self._redact(str(BrokerError(Frame("ERROR", headers, body))))
        if text not in self._broker_errors and len(self._broker_errors) < _ERRORS_SHOWN:
            self._broker_errors.append(text)

    def _redact(self, text: str) -> str:
        return redact(text, self._passcode)

    # --- the run --------------------------------------------------------------

    async def run(self) -> int:
        """
        Connect, send every message, wait for every receipt, disconnect.

        @return: the exit status: L{EXIT_OK} if every message was
            confirmed, L{EXIT_FAILURE} (the reason in L{failure}, and
            logged), or 128 plus the signal's number after L{interrupt}.
        """
        try:
            if await self._connected():
                await self._send_all()
            await self._drain()
        finally:
            self._messages.close()
            await self._leave()
        return self._status()

    async def _connected(self) -> bool:
        try:
            await self._wait(self._client.when_connected())
        except _Interrupted:
            return False
        except BrokerError as error:
            self._fail(f"{self._broker} refused CONNECT: {self._redact(error.reason)}")
            return False
        except NotConnected as error:
            self._fail(f"cannot connect to {self._broker}: {self._redact(str(error))}")
            return False
        _log.info("sending to {destination}", destination=self._destination)
        return True

    async def _send_all(self) -> None:
        while self.failure is None:
            try:
                body = await self._wait(self._messages.next())
            except _Interrupted:
                return
            except (StompError, OSError) as error:
                self._fail(f"cannot read standard input: {error}")
                return
            if body is None:
                return
            try:
                await self._send(body)
            except _Interrupted:
                return

    async def _send(self, body: bytes) -> None:
        while len(self._pending) >= self._current_window():
            await self._wait_for_room()
        if self.failure is not None:
            return
        number = self.sent + 1
        while True:
            try:
                sent = self._client.send(body, self._destination, self._headers)
            except SendBufferFull:
                if not self._pending:
                    raise
                # The socket is behind: let earlier messages go first.
                await self._wait_for_room()
                if self.failure is not None:
                    return
                continue
            except StompError as error:
                self.sent = number
                self._fail(f"message {number} cannot be sent: {error}")
                return
            break
        self.sent = number
        settled = sent.addCallbacks(
            self._confirmed,
            self._not_confirmed,
            callbackArgs=(number, len(body)),
            errbackArgs=(number,),
        )
        if not settled.called:
            self._pending.add(settled)
            settled.addBoth(self._settled, settled)

    def _current_window(self) -> int:
        # One message alone until the broker has confirmed one: a
        # destination it refuses is then refused for that message only,
        # and RabbitMQ says why (with several on their way, its first
        # ERROR is a bare "Processing error", and the connection closes).
        return self._window if self.confirmed else 1

    async def _wait_for_room(self) -> None:
        if self._room is None:
            self._room = Deferred()
        await self._wait(self._room)

    def _confirmed(self, receipt: object, number: int, size: int) -> None:
        self.confirmed += 1
        if self._on_confirmed is not None:
            self._on_confirmed(number, size)

    def _not_confirmed(self, failure: Failure, number: int) -> None:
        error = failure.value
        if isinstance(error, ReceiptTimeout):
            why = f"no receipt (--receipt-timeout): {error}"
        elif isinstance(error, ConnectionLost) and self._broker_errors:
            why = f"{'; '.join(self._broker_errors)} (the connection was closed)"
        else:
            why = self._redact(_reason(failure))
        self._fail(f"message {number} was not confirmed: {why}")

    def _settled(self, result: None, settled: Deferred[None]) -> None:
        self._pending.discard(settled)
        room, self._room = self._room, None
        if room is not None:
            room.callback(None)

    def _fail(self, reason: str) -> None:
        # The first failure is the reason; what follows from it is not.
        if self.failure is None:
            self.failure = reason
            self._messages.close()
            room, self._room = self._room, None
            if room is not None:
                room.callback(None)

    async def _drain(self) -> None:
        # Receipts of messages already sent, even when interrupted: each
        # wait is bounded by the receipt timeout.
        while self._pending:
            await next(iter(self._pending))

    async def _leave(self) -> None:
        try:
            await self._client.disconnect()
        except StompError as error:
            _log.warn("leaving: {error}", error=self._redact(str(error)))

    def _status(self) -> int:
        if self.sent:
            summary = f"{self.confirmed} of {self.sent} message(s) confirmed by {self._broker}"
        else:
            summary = f"no message sent to {self._broker}"
        if self.interrupted_by is not None:
            name = signal.Signals(self.interrupted_by).name
            _log.error(
                "interrupted by {signal}: {summary}; the rest was not sent{why}",
                signal=name,
                summary=summary,
                why=f" ({self.failure})" if self.failure else "",
            )
            return 128 + self.interrupted_by
        if self.failure is not None:
            _log.error("{why}; {summary}", why=self.failure, summary=summary)
            return EXIT_FAILURE
        _log.info("{summary}", summary=summary)
        return EXIT_OK

    # --- interruption ---------------------------------------------------------

    def interrupt(self, signum: int) -> None:
        """
        Stop reading and sending (a signal came): messages already sent
        still get their receipts waited for, then the client disconnects.
        """
        if self.interrupted_by is not None:
            return
        self.interrupted_by = signum
        self._messages.close()
        waiting, self._interruptions = self._interruptions, []
        for waiter in waiting:
            waiter.errback(_Interrupted())

    async def _wait(self, deferred: Deferred[Any]) -> Any:
        # The outcome of deferred, or _Interrupted if interrupt() comes
        # first (what deferred brings later is then dropped: the sender
        # is stopping).
        if self.interrupted_by is not None:
            raise _Interrupted()
        waiter: Deferred[Any] = Deferred()
        self._interruptions.append(waiter)
        deferred.addBoth(_pass_on, waiter)
        try:
            return await waiter
        finally:
            if waiter in self._interruptions:
                self._interruptions.remove(waiter)


def _pass_on(result: object, waiter: Deferred[Any]) -> None:
    if waiter.called:
        return
    if isinstance(result, Failure):
        waiter.errback(result)
    else:
        waiter.callback(result)
