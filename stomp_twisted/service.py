"""
L{StompService}: a STOMP client as a Twisted
L{IService<twisted.application.service.IService>}, for C{twistd} (a C{.tac}
file, a plugin's C{makeService}) and
L{MultiService<twisted.application.service.MultiService>} trees.

Starting the service connects; stopping it drains (no new message is
taken, the callbacks still running finish and their acknowledgements go
out, within C{drain_timeout}) and then disconnects gracefully.  The guide
page C{docs/twistd.rst} ("Running under twistd") shows it at work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from twisted.application.service import Service
from twisted.internet.defer import Deferred, ensureDeferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from . import arguments
from ._connect import connect
from .client import AckMode, HeaderValues
from .endpoints import TLSOptions
from .errors import ClientClosed
from .failover import BrokerAddress

__all__ = ["DEFAULT_DRAIN_TIMEOUT", "StompService"]

#: Seconds L{StompService.stopService} waits at most for the callbacks
#: still running before it disconnects anyway.
DEFAULT_DRAIN_TIMEOUT = 30.0


class StompService(Service):
    """
    A L{StompClient} that connects when the service starts and leaves
    gracefully when it stops.

    It takes the arguments of L{connect<stomp_twisted.connect>},
    checks them at once (a mistake fails where the service is built, not
    later in the running reactor), and builds its client at once, unstarted,
    so that callbacks and subscriptions can be added before it connects:
    C{service.client.reg_cb("MESSAGE", work)}.

    L{stopService} returns a L{Deferred}, which C{twistd} and
    L{MultiService<twisted.application.service.MultiService>} wait for: the
    client stops reading (no new message reaches a callback; those the
    broker sent ahead stay unacknowledged and are delivered again), waits
    up to C{drain_timeout} seconds for the callbacks still running (those
    that returned a Deferred, under C{ack="auto"} or C{"manual"}) so that
    their C{ACK} or C{NACK} is written, and then sends C{DISCONNECT} and
    waits for its receipt (up to the client's C{disconnect_timeout}).  A
    service cannot be started again once stopped: its client has left;
    build a new one.

    @ivar client: the L{StompClient}, built (but not connected) when the
        service is.
    @ivar drain_timeout: the bound on the wait for running callbacks when
        the service stops.
    """

    _log = Logger()

    def __init__(
        self,
        host: str | Sequence[tuple[str, int] | BrokerAddress] | Any,
        port: int | None = None,
        ssl: bool = False,
        destination: str | None = None,
        ack: AckMode | Literal[0] = None,
        connect_headers: HeaderValues | None = None,
        subscribe_headers: HeaderValues | None = None,
        *,
        reactor: Any = None,
        tls: TLSOptions | None = None,
        drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
        **options: Any,
    ) -> None:
        """
        @param host: as for L{connect<stomp_twisted.connect>}, as
            are C{port}, C{ssl}, C{destination}, C{ack},
            C{connect_headers}, C{subscribe_headers}, C{tls} and
            C{options} (the settings of L{StompClient}).
        @param reactor: the reactor to use; the global one, imported here
            (not when this module is imported), if omitted.
        @param drain_timeout: seconds L{stopService} waits at most for the
            callbacks still running (default L{DEFAULT_DRAIN_TIMEOUT}).
        @raise BadArgument: for any argument that
            L{connect<stomp_twisted.connect>} refuses, and for a
            C{drain_timeout} that is not a finite number of seconds, at
            least 0.
        @raise UnrepresentableHeader: as
            L{connect<stomp_twisted.connect>} raises it.
        """
        arguments.check_number(drain_timeout, "drain_timeout")
        self.drain_timeout = drain_timeout
        # connect(), checks and all, without starting the client.
        self.client = connect(
            host,
            port,
            ssl,
            destination,
            ack,
            connect_headers,
            subscribe_headers,
            reactor=reactor,
            tls=tls,
            start=False,
            **options,
        )
        self._stopping: Deferred[None] | None = None
        self._stopped_waiters: list[Deferred[None]] = []

    def startService(self) -> None:
        """
        Start connecting, in the background (and reconnecting, as the
        client's reconnect policy says).

        @raise ClientClosed: if the service was stopped before: its client
            has left for good.
        """
        if self._stopping is not None:
            raise ClientClosed(
                "this StompService was stopped; it cannot start again: make a new one"
            )
        super().startService()  # type: ignore[no-untyped-call]
        self._log.info("StompService {name}: starting", name=self._shown_name())
        self.client.start()

    def stopService(self) -> Deferred[None]:
        """
        Drain, then disconnect (see the class docstring).  Calling it again
        returns a new L{Deferred} for the same stop.

        @return: a L{Deferred} that fires with C{None} once the connection
            is closed: within C{drain_timeout} plus the client's
            C{disconnect_timeout}, even if the broker is gone.
        """
        if self._stopping is None:
            super().stopService()  # type: ignore[no-untyped-call]
            self._stopping = ensureDeferred(self._leave())
            self._stopping.addBoth(self._stopped)
        if self._stopping.called:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._stopped_waiters.append(waiter)
        return waiter

    async def _leave(self) -> None:
        name = self._shown_name()
        self._log.info("StompService {name}: stopping: draining, then disconnecting", name=name)
        left = await self.client.drain(self.drain_timeout)
        self._log.info(
            "StompService {name}: {outcome}; disconnecting",
            name=name,
            outcome="drained" if not left else f"{left} message(s) left unacknowledged",
        )
        await self.client.disconnect()
        self._log.info("StompService {name}: disconnected", name=name)

    def _stopped(self, result: Failure | None) -> None:
        if isinstance(result, Failure):
            self._log.failure(
                "StompService {name}: stopping failed", result, name=self._shown_name()
            )
        waiters, self._stopped_waiters = self._stopped_waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _shown_name(self) -> str:
        return self.name if self.name is not None else "(unnamed)"
