"""
The reconnect loop: one connection attempt at a time over an endpoint,
back-off between failures, failover between brokers, and a clear end when
the policy says to give up.  L{ReconnectPolicy} is that policy, the
public face of the loop (C{stomp_twisted.ReconnectPolicy}); L{Reconnector}
follows it.

Twisted's L{ClientService<twisted.application.internet.ClientService>}
does much of this, but its retry policy cannot stop it (stopping from the
policy re-enters its state machine), it counts a connection that was lost
after working as a failed attempt, and it hands the protocol over behind a
proxy.  The client needs the opposite on each point, and the loop is short.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IProtocolFactory, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._durations import check_multiplier, check_seconds
from .errors import BadArgument

if TYPE_CHECKING:
    # (failover imports this module: a failover URI's options make a policy.)
    from .failover import FailoverEndpoint

__all__ = ["DEFAULT_RECONNECT", "ReconnectPolicy", "Reconnector"]


@dataclass(frozen=True)
class ReconnectPolicy:
    """
    How long to wait before each connection attempt after a failure or a
    lost connection: C{initial_delay * multiplier ** (attempt - 1)}, at
    most C{max_delay}, plus up to C{jitter} of that delay at random so that
    many clients of one broker do not return at the same instant.  Every
    duration is a number of seconds from 0 to a year; anything else is a
    L{BadArgument} when the policy is made.

    @ivar initial_delay: seconds before the first retry.
    @ivar max_delay: the longest wait, in seconds, before jitter.
    @ivar multiplier: the factor by which the wait grows per failure,
        from 1 to 1000.
    @ivar jitter: the random fraction added to each wait (0 for none).
    @ivar max_attempts: consecutive failed attempts after which the client
        gives up, or C{None} to retry for ever.
    @ivar randomize: try the brokers of a list in a random order.
    @ivar refused_delay: the shortest wait after the broker refused
        CONNECT (bad credentials, say), so that a refusal is never retried
        in a tight loop.
    @ivar stable_after: how long, in seconds, a session must last after
        CONNECTED before the client counts it as working.  A session lost
        sooner (a broker that closes, or sends ERROR, right after
        CONNECTED or after a SUBSCRIBE it refuses) counts as a failed
        attempt: the back-off keeps growing and C{max_attempts} counts
        it, so a broker that ends every session at once is never hammered.
    """

    initial_delay: float = 0.1
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.1
    max_attempts: int | None = None
    randomize: bool = False
    refused_delay: float = 5.0
    stable_after: float = 10.0

    def __post_init__(self) -> None:
        for name in ("initial_delay", "max_delay", "refused_delay", "stable_after"):
            check_seconds(getattr(self, name), name)
        check_multiplier(self.multiplier)
        if (
            isinstance(self.jitter, bool)
            or not isinstance(self.jitter, (int, float))
            or not 0 <= self.jitter <= 1
        ):
            raise BadArgument(f"jitter is a fraction between 0 and 1, not {self.jitter!r}")
        if self.max_attempts is not None and (
            isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int)
        ):
            raise BadArgument(f"max_attempts must be an int or None, not {self.max_attempts!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise BadArgument("max_attempts must be at least 1, or None for no limit")

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """
        The wait before retry number C{attempt} (1 for the first).
        """
        exponent = min(max(attempt - 1, 0), 64)
        base = min(self.initial_delay * self.multiplier**exponent, self.max_delay)
        return base * (1 + self.jitter * rand())


#: The reconnect policy clients use unless told otherwise.
DEFAULT_RECONNECT = ReconnectPolicy()


class Reconnector:
    """
    Keeps a client connected.

    The client tells it what happened: L{handshake_failed} when a
    connection ends before CONNECTED, L{connected} when CONNECTED arrives,
    L{lost} when an established connection ends.  It decides when to try
    again, where, and when to give up.

    @ivar failures: consecutive failed attempts, sessions shorter than the
        policy's C{stable_after} included.
    @ivar last_error: what went wrong last, for messages.
    """

    _log = Logger()

    def __init__(
        self,
        endpoint: FailoverEndpoint,
        factory: IProtocolFactory,
        clock: IReactorTime,
        policy: ReconnectPolicy | None,
        *,
        before_attempt: Callable[[str], None],
        attempt_failed: Callable[[str], None],
        gave_up: Callable[[str, bool], None],
    ) -> None:
        """
        @param endpoint: the brokers to connect to.
        @param factory: builds the protocol of each connection.
        @param clock: schedules the retries.
        @param policy: the back-off; C{None} for a single attempt and no
            reconnection.
        @param before_attempt: called with the broker's name before each
            attempt.
        @param attempt_failed: called with a message after each failed
            attempt.
        @param gave_up: called once with the reason when the loop ends
            without the client asking, and whether it ended over the loss
            of a session (L{lost}) rather than a failed attempt.
        """
        self._endpoint = endpoint
        self._factory = factory
        self._clock = clock
        self._policy = policy
        self._before_attempt = before_attempt
        self._attempt_failed = attempt_failed
        self._gave_up = gave_up
        self._attempt: Deferred[Any] | None = None
        self._retry: IDelayedCall | None = None
        self._running = False
        self._refused = False
        self._stable_timer: IDelayedCall | None = None
        self._session_began = 0.0
        self.failures = 0
        self.last_error = ""

    @property
    def running(self) -> bool:
        """
        Whether the loop is trying to keep the client connected.
        """
        return self._running

    def start(self) -> None:
        """
        Make the first attempt now.
        """
        if self._running:
            return
        self._running = True
        self.failures = 0
        self._connect()

    def stop(self) -> None:
        """
        Stop trying: cancel a pending attempt or retry.  An established
        connection is the client's to close.
        """
        self._running = False
        self._cancel_stable_timer()
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        attempt, self._attempt = self._attempt, None
        if attempt is not None:
            attempt.cancel()

    def _connect(self) -> None:
        self._retry = None
        name = self._endpoint.current_name
        self._before_attempt(name)
        attempt = self._endpoint.connect(self._factory)
        self._attempt = attempt
        attempt.addCallbacks(self._transport_connected, self._transport_failed, errbackArgs=(name,))

    def connection_built(self) -> None:
        """
        The endpoint has connected and is building the protocol: from
        now on the connection is the client's to close, and L{stop} no
        longer cancels the attempt (the endpoint fires its Deferred once
        the protocol's C{connectionMade} returns; cancelled from an
        observer within that, the Deferred would be fired twice).
        """
        self._attempt = None

    def _transport_connected(self, protocol: object) -> None:
        self._attempt = None

    def _transport_failed(self, failure: Failure, name: str) -> None:
        if self._attempt is None:
            return  # cancelled by stop()
        self._attempt = None
        self._failed(f"could not connect to {name}: {failure.getErrorMessage()}")

    def handshake_failed(self, message: str, refused: bool) -> None:
        """
        A connection ended before CONNECTED.

        @param refused: the broker answered CONNECT with ERROR (bad
            credentials, an unknown virtual host): retrying at once would
            only be refused again, so the wait is at least the policy's
            C{refused_delay}.
        """
        self._refused = refused
        self._failed(message)

    def connected(self) -> None:
        """
        CONNECTED arrived.  The count of failures starts afresh only once
        the session has lasted the policy's C{stable_after}: a session
        lost sooner counts as one more failed attempt (see L{lost}).
        """
        self._refused = False
        self._cancel_stable_timer()
        self._session_began = self._clock.seconds()
        stable_after = self._policy.stable_after if self._policy is not None else 0.0
        if stable_after > 0:
            self._stable_timer = self._clock.callLater(stable_after, self._became_stable)
        else:
            self._became_stable()

    def _became_stable(self) -> None:
        self._stable_timer = None
        self.failures = 0
        self.last_error = ""

    def _cancel_stable_timer(self) -> None:
        timer, self._stable_timer = self._stable_timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def lost(self, message: str) -> None:
        """
        An established connection ended: try again, at the next broker.
        A session shorter than C{stable_after} counts as a failed attempt,
        so the wait grows and C{max_attempts} applies.
        """
        unstable = self._stable_timer is not None
        self._cancel_stable_timer()
        self.last_error = message
        if not self._running:
            return
        if unstable:
            lasted = self._clock.seconds() - self._session_began
            assert self._policy is not None
            self._failed(
                f"session ended {lasted:.2f} s after CONNECTED (less than stable_after="
                f"{self._policy.stable_after:g} s, so it counts as a failed attempt): {message}",
                report=False,
            )
            return
        self._endpoint.advance()
        self._schedule(1)

    def _failed(self, message: str, *, report: bool = True) -> None:
        # report=False for a session that ended too soon: the client has
        # fired "disconnect" for it already, not an attempt's connect_error.
        self.failures += 1
        self.last_error = message
        self._log.warn("{reason}", reason=message)
        if report:
            self._attempt_failed(message)
        if not self._running:
            return
        self._endpoint.advance()
        policy = self._policy
        after_loss = not report
        if policy is None:
            self._give_up(message, "giving up: reconnection is off (reconnect=None)", after_loss)
        elif policy.max_attempts is not None and self.failures >= policy.max_attempts:
            self._give_up(
                f"gave up after {self.failures} failed attempts; last: {message}",
                f"giving up after {self.failures} failed attempts (max_attempts)",
                after_loss,
            )
        else:
            self._schedule(self.failures)

    def _schedule(self, attempt: int) -> None:
        policy = self._policy
        if policy is None:
            self._give_up(
                f"connection lost and reconnection is off: {self.last_error}",
                "giving up: the connection was lost and reconnection is off (reconnect=None)",
                True,
            )
            return
        delay = policy.delay(attempt)
        if self._refused:
            delay = max(delay, policy.refused_delay)
        self._log.info(
            "reconnecting to {broker} in {delay:.2f} s",
            broker=self._endpoint.current_name,
            delay=delay,
        )
        self._retry = self._clock.callLater(delay, self._connect)

    def _give_up(self, reason: str, summary: str, after_loss: bool) -> None:
        # The log says why in a line of its own (the failure before it is
        # logged already, so it is not repeated); the client's events and
        # errors get the whole reason.
        self._running = False
        self._log.warn("{summary}", summary=summary)
        self._gave_up(reason, after_loss)
