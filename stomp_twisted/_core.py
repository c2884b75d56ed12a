"""
What the client's collaborators share.  Not API.

The client's work is split between small objects with one job each (see
C{docs/architecture.rst}); L{Core} is what they all read: the settings,
the clock, the observers, the counters, the lifecycle and the current
connection's L{Session}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from ._lifecycle import Lifecycle
from ._secrets import redact
from ._session import Session
from .frame import Frame, FrameLimits
from .observers import Observers
from .redelivery import RedeliveryPolicy
from .stats import Counters

if TYPE_CHECKING:
    from .client import StompClient

__all__ = ["Core", "Settings", "log"]

#: The client's logger: every collaborator logs as the client.
log = Logger(namespace="stomp_twisted.client")


@dataclass(frozen=True, eq=False)
class Settings:
    """
    The client's settings, checked once when it was made.
    """

    connect_headers: dict[str, str]
    connect_timeout: float
    receipt_timeout: float | None
    disconnect_timeout: float
    limits: FrameLimits
    heartbeat_tolerance: float
    max_in_flight: int
    max_send_buffer: int
    max_unacked: int
    redelivery: RedeliveryPolicy

    @property
    def offered_versions(self) -> list[str]:
        """
        The versions offered in CONNECT.
        """
        return self.connect_headers["accept-version"].split(",")


class Core:
    """
    The state the collaborators share.

    @ivar client: the user's L{StompClient}, the first argument of every
        callback.
    @ivar session: the current connection, from its transport's
        connection to its loss; C{None} between connections.
    @ivar broker: the name of the latest attempt's broker.
    """

    def __init__(self, client: StompClient, clock: IReactorTime, settings: Settings) -> None:
        self.client = client
        self.clock = clock
        self.settings = settings
        self.observers = Observers()
        self.counters = Counters()
        self.lifecycle = Lifecycle()
        self.session: Session | None = None
        self.broker: str | None = None

    @property
    def established(self) -> Session | None:
        """
        The current session if CONNECTED has arrived on it and it is
        still usable, else C{None}.
        """
        session = self.session
        if session is None or not session.protocol.is_stomp_connected:
            return None
        return session

    def fire_frame(self, frame: Frame) -> list[object]:
        """
        Fire a frame's own event, then C{"frame"}, as AnyEvent::STOMP
        does; return what the callbacks returned.
        """
        observers = self.observers
        client = self.client
        results = observers.fire(frame.command, client, frame.body, frame.headers)
        results.extend(observers.fire("frame", client, frame.command, frame.body, frame.headers))
        return results

    def redact(self, text: str) -> str:
        """
        C{text} without the passcode: a broker may quote it (an echoed
        CONNECT), and no message or log line of the client's may hold it.
        """
        return redact(text, self.settings.connect_headers.get("passcode"))
