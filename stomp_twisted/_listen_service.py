"""
The service behind C{twistd stomp-listen}: L{ListenService} connects and
subscribes when started, writes each message (L{stomp_twisted._listen_output})
and acknowledges it once written, and leaves with a DISCONNECT the broker
confirms when stopped.  L{stomp_twisted.tap} builds it from the command
line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.error import ReactorNotRunning
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._connect import connect
from ._listen_output import Output, format_message, write_fully
from ._secrets import redact
from .client import AckMode, StompClient
from .errors import BrokerError, ClientClosed, NotConnected, StompError

if TYPE_CHECKING:
    from .tap import Options

__all__ = ["EXIT_FAILURE", "ListenService"]

#: The exit status after a failure: output broken, or the client gave up.
EXIT_FAILURE = 1

# The service's log namespace, which docs/logging.rst lists as public: it
# stays the one it had when the service lived in stomp_twisted.tap.
_LOG_NAMESPACE = "stomp_twisted.tap.ListenService"


class ListenService(Service):
    """
    Listens while running: connects and subscribes on start, writes each
    message and acknowledges it, and leaves with a graceful DISCONNECT on
    stop.

    @ivar client: the L{StompClient} once started.
    @ivar written: how many messages have been written.
    @ivar exit_status: C{None} while nothing has ended the listener, then
        C{0} (C{--count} reached) or L{EXIT_FAILURE} (the output broke,
        the client gave up, the broker refused the first C{CONNECT}).
    @ivar ever_connected: whether the broker has accepted a C{CONNECT}:
        until then a refusal ends the listener (unless C{--retry-refused}),
        afterwards the client retries with back-off.
    """

    def __init__(
        self,
        options: Options,
        reactor: Any,
        output: Output | None = None,
        connect: Callable[..., StompClient] = connect,
    ) -> None:
        """
        @param options: the parsed command line.
        @param reactor: the reactor: the client's clock, and what is
            stopped when the listener is done.
        @param output: where to write messages; by default C{--output}'s
            file, opened on start, or standard output.
        @param connect: L{stomp_twisted.connect}, or a stand-in for tests.
        """
        self._log = Logger(namespace=_LOG_NAMESPACE, source=self)
        self._options = options
        self._reactor = reactor
        self._output = output
        self._connect = connect
        # The file the service opened itself, to close when done.
        self._opened: Any = None
        self._leaving = False
        # Whether a when_connected() Deferred is being waited on: one at a
        # time, so that each outcome is reported once.
        self._watching = False
        self.ever_connected = False
        self.exit_status: int | None = None
        self.written = 0
        self.client: StompClient | None = None

    # --- starting -----------------------------------------------------------

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        options = self._options
        if self._output is None:
            self._output = self._open_output()
        arguments = options.connect_arguments()
        self._log.info(
            "stomp-listen: connecting to {broker}{login}; subscribing to {destinations} "
            "(--ack {ack}); writing {style} to {output}",
            broker=options.describe_broker(),
            login=f" as {options['login']}" if options["login"] is not None else "",
            destinations=", ".join(options["destinations"]),
            ack=options["ack"],
            style=options["format"],
            output=options["output"] or "standard output",
        )
        client = self._connect(reactor=self._reactor, **arguments)
        self.client = client
        client.reg_cb("CONNECTED", self._connected)
        client.reg_cb("ERROR", self._broker_error)
        client.reg_cb("RECEIPT", self._receipt)
        client.reg_cb("disconnect", self._disconnected)
        ack: AckMode = None if options["ack"] == "none" else "manual"
        headers = options.subscribe_headers()
        for destination in options["destinations"]:
            # Written once CONNECTED arrives, and again after each reconnection.
            subscribed = client.subscribe(
                destination, self._message, ack=ack, headers=headers, receipt=False
            )
            subscribed.addErrback(self._not_subscribed, destination)
        self._watch()

    def _open_output(self) -> Output:
        path = self._options["output"]
        if path is not None:
            self._opened = open(path, "ab", buffering=0)  # noqa: SIM115
        else:
            # Standard output, unbuffered and blocking: each message reaches
            # the pipe or file before it is acknowledged.  A duplicate of
            # the descriptor, so that sys.stdout has nothing to fail on at
            # exit after a broken pipe.
            fd = os.dup(1)
            os.set_blocking(fd, True)
            self._opened = open(fd, "wb", buffering=0)  # noqa: SIM115
        output: Output = self._opened
        return output

    def _watch(self) -> Deferred[None] | None:
        # The client's next outcome: connected, refused (BrokerError, at
        # once), or given up (NotConnected).  None if already watched.
        if self._watching:
            return None
        assert self.client is not None
        self._watching = True
        return self.client.when_connected().addCallbacks(self._watched, self._not_connected)

    def _watched(self, client: StompClient) -> None:
        self._watching = False

    # --- events -------------------------------------------------------------

    def _connected(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        self.ever_connected = True
        self._log.info(
            "connected to {broker} ({server}, STOMP {version}); subscribing to {destinations}",
            broker=self._options.describe_broker(),
            server=headers.get("server", "server unknown"),
            version=client.version,
            destinations=", ".join(self._options["destinations"]),
        )

    def _broker_error(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        if self._watching:
            # An ERROR while waiting for CONNECTED: a refused CONNECT,
            # which _refused reports, once.
            return
        details = f": {body.decode('utf-8', 'replace')[:1000]}" if body else ""
        self._log.error(
            "the broker sent ERROR: {error}",
            error=self._redact(headers.get("message", "(no message header)") + details),
        )

    def _redact(self, text: str) -> str:
        # A broker might echo the passcode back in its ERROR.
        return redact(text, self._options["passcode"])

    def _receipt(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        # The listener asks for no receipt but DISCONNECT's.
        if self._leaving:
            self._log.info(
                "the broker confirmed DISCONNECT (receipt {receipt})",
                receipt=headers.get("receipt-id"),
            )

    def _disconnected(self, client: StompClient, reason: str) -> None:
        if self._leaving or self.exit_status is not None:
            return
        waiting = self._watch()
        if waiting is not None and not waiting.called:
            # Otherwise the client gave up: _not_connected says so.
            self._log.warn("connection lost: {reason}; reconnecting", reason=reason)

    def _not_connected(self, failure: Failure) -> None:
        self._watching = False
        error = failure.value
        if isinstance(error, ClientClosed) or self._leaving or self.exit_status is not None:
            return
        if isinstance(error, BrokerError):
            self._refused(error)
        elif isinstance(error, NotConnected):
            self._log.error("giving up: {reason}", reason=self._redact(str(error)))
            self._finish(EXIT_FAILURE)
        else:
            self._log.failure("the client failed", failure)
            self._finish(EXIT_FAILURE)

    def _refused(self, error: BrokerError) -> None:
        # Bad credentials or an unknown vhost: on the first connection, a
        # mistake that retrying will not fix, unless told to wait for one.
        reason = self._redact(error.reason)
        broker = self._options.describe_broker()
        if self.ever_connected or self._options["retry-refused"]:
            self._log.warn(
                "{broker} refused CONNECT: {reason}; retrying ({why})",
                broker=broker,
                reason=reason,
                why="--retry-refused" if not self.ever_connected else "it was accepted before",
            )
            self._watch()
            return
        self._log.error(
            "{broker} refused CONNECT: {reason}; exiting with status 1 "
            "(--retry-refused keeps retrying)",
            broker=broker,
            reason=reason,
        )
        self._finish(EXIT_FAILURE)

    def _not_subscribed(self, failure: Failure, destination: str) -> None:
        if isinstance(failure.value, (NotConnected, ClientClosed)):
            return  # the client gave up or was stopped: said elsewhere
        self._log.failure("cannot subscribe to {destination}", failure, destination=destination)
        self._finish(EXIT_FAILURE)

    # --- messages -----------------------------------------------------------

    def _message(self, client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        options = self._options
        acking = options["ack"] != "none"
        if self.exit_status is not None or (self._leaving and acking):
            # Done, or leaving: not written, so not acknowledged; the broker
            # redelivers it.  (Under --ack none the broker has forgotten it
            # already: it is written while the connection lasts.)
            return
        assert self._output is not None
        data = format_message(
            body,
            headers,
            options["format"],
            number=self.written + 1,
            received=self._reactor.seconds(),
        )
        try:
            write_fully(self._output, data, options["fsync"])
        except OSError as error:
            self._output_broken(error, headers)
            return
        self.written += 1
        if options["ack"] == "auto":
            try:
                acked = client.ack(headers, receipt=False)
            except StompError as error:
                self._log.error("cannot acknowledge a message: {error}", error=error)
            else:
                acked.addErrback(self._log_ack_failure)
        count = options["count"]
        if count is not None and self.written >= count:
            self._log.info("{count} message(s) written (--count): leaving", count=count)
            self._finish(0)

    def _log_ack_failure(self, failure: Failure) -> None:
        self._log.failure("acknowledging a message failed", failure)

    def _output_broken(self, error: OSError, headers: dict[str, str]) -> None:
        where = self._options["output"] or "standard output"
        fate = {
            "none": "is lost (--ack none: the broker has forgotten it)",
            "auto": "is not acknowledged: the broker will redeliver it",
            "manual": "is not acknowledged: the broker will redeliver it",
        }[self._options["ack"]]
        self._log.error(
            "cannot write to {where}: {error}; message {id} from {destination} {fate}; stopping",
            where=where,
            error=error.strerror or error,
            id=headers.get("message-id", "?"),
            destination=headers.get("destination", "?"),
            fate=fate,
        )
        self._finish(EXIT_FAILURE)

    def _finish(self, status: int) -> None:
        if self.exit_status is not None:
            return
        self.exit_status = status
        with contextlib.suppress(ReactorNotRunning):
            self._reactor.stop()

    # --- stopping -----------------------------------------------------------

    def stopService(self) -> Deferred[None] | None:
        super().stopService()  # type: ignore[no-untyped-call]
        if self.client is None:
            return None
        self._leaving = True
        client = self.client
        if client.is_connected:
            self._log.info("leaving: sending DISCONNECT")
        left = client.disconnect()
        left.addCallback(self._left)
        return left

    def _left(self, result: None) -> None:
        self._log.info("disconnected; {count} message(s) written", count=self.written)
        if self._opened is not None:
            with contextlib.suppress(OSError):  # a broken pipe, already reported
                self._opened.close()
