"""
The client's lifecycle as a declared state machine.  Not API: the states
are documented (L{StompClient.state<stomp_twisted.client.StompClient.state>}
returns one), the machine is internal.

Theory of operation.  A client is in exactly one L{State}.  It starts
C{NOT_STARTED}; L{start<stomp_twisted.client.StompClient.start>} makes
the first attempt (C{CONNECTING}).  CONNECTED from the broker makes it
C{CONNECTED}; a failed attempt, or the loss of a session, leaves it
C{WAITING} for the reconnect loop's next attempt, or C{GAVE_UP} when the
reconnect policy says so (C{start} may begin afresh from there).
C{drain} makes it C{DRAINING}: still connected, taking no new message and
not reconnecting.  C{disconnect} makes it C{LEAVING} while a connection
is being closed, then C{CLOSED}, which is final.

Each move is checked against L{TRANSITIONS}: a move the table does not
declare is a bug in the client and raises C{AssertionError} rather than
leaving the client somewhere no one designed.  Operations that a state
does not allow are refused by the front with the state's name
(L{Lifecycle.refuse}).
"""

from __future__ import annotations

from enum import Enum

from .errors import ClientClosed, NotConnected

__all__ = ["TRANSITIONS", "Lifecycle", "State"]


class State(Enum):
    """
    Where a client is in its life; the value is the state's name as
    messages and logs say it.
    """

    NOT_STARTED = "not started"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    WAITING = "waiting to reconnect"
    GAVE_UP = "gave up"
    DRAINING = "draining"
    LEAVING = "leaving"
    CLOSED = "closed"


_S = State

#: Every move the client makes, as C{{from: {to, ...}}}.  CONNECTING to
#: CONNECTING is a connection made from outside the reconnect loop (a
#: ClientService, C{reactor.connectTCP}) while one is under way; DRAINING
#: to DRAINING is a handshake that completes while draining.
TRANSITIONS: dict[State, frozenset[State]] = {
    _S.NOT_STARTED: frozenset({_S.CONNECTING, _S.DRAINING, _S.LEAVING, _S.CLOSED}),
    _S.CONNECTING: frozenset(
        {_S.CONNECTING, _S.CONNECTED, _S.WAITING, _S.GAVE_UP, _S.DRAINING, _S.LEAVING, _S.CLOSED}
    ),
    _S.CONNECTED: frozenset({_S.WAITING, _S.GAVE_UP, _S.DRAINING, _S.LEAVING}),
    _S.WAITING: frozenset({_S.CONNECTING, _S.GAVE_UP, _S.DRAINING, _S.LEAVING, _S.CLOSED}),
    _S.GAVE_UP: frozenset({_S.CONNECTING, _S.DRAINING, _S.LEAVING, _S.CLOSED}),
    _S.DRAINING: frozenset({_S.DRAINING, _S.LEAVING, _S.CLOSED}),
    _S.LEAVING: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset(),
}

#: The states in which the client has given up leaving: disconnect() was
#: called.
_LEFT = frozenset({_S.LEAVING, _S.CLOSED})


class Lifecycle:
    """
    The current L{State} and the error that ended the reconnect loop.

    @ivar state: the current state.
    @ivar gave_up_error: why the client gave up, while C{GAVE_UP}.
    @ivar left: whether L{disconnect<stomp_twisted.client.StompClient.disconnect>}
        has been called (C{LEAVING} or C{CLOSED}).
    @ivar leaving: whether the client takes no new message: draining,
        leaving or closed.  (Kept up to date by L{move} rather than
        computed: the receive path reads it for every message.)
    """

    __slots__ = ("gave_up_error", "leaving", "left", "state")

    def __init__(self) -> None:
        self.state = State.NOT_STARTED
        self.gave_up_error: NotConnected | None = None
        self.left = False
        self.leaving = False

    def move(self, to: State) -> None:
        """
        Enter C{to}, which must be declared reachable from the current
        state in L{TRANSITIONS}.
        """
        here = self.state
        if to not in TRANSITIONS[here]:
            raise AssertionError(f"the client cannot go from {here.value} to {to.value}")
        self.state = to
        self.left = to in _LEFT
        self.leaving = self.left or to is State.DRAINING
        if to is not State.GAVE_UP:
            self.gave_up_error = None

    def give_up(self, reason: str) -> NotConnected:
        """
        Enter C{GAVE_UP} with C{reason}, and return the error that
        waiters get.
        """
        self.move(State.GAVE_UP)
        self.gave_up_error = NotConnected(reason)
        return self.gave_up_error

    def refuse(self, operation: str) -> ClientClosed:
        """
        The error for C{operation} in a state that has left.
        """
        return ClientClosed(
            f"cannot {operation}: the client is {self.state.value} (disconnect() was called)"
        )

    def connection_made(self) -> None:
        """
        A transport is up (from the reconnect loop or from outside).
        """
        if self.state is not State.DRAINING:
            self.move(State.CONNECTING)

    def connected(self) -> None:
        """
        The broker answered CONNECTED (while draining, the client stays
        DRAINING).
        """
        if not self.leaving:
            self.move(State.CONNECTED)
