"""
Subscriptions: the registry, SUBSCRIBE and UNSUBSCRIBE, and renewal after
a reconnection.  L{Subscription} is API (re-exported by
L{stomp_twisted.client}); L{Subscriptions} is not.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from twisted.internet.defer import Deferred, fail, succeed

from . import arguments
from ._core import Core, log
from ._session import Session
from .errors import BadArgument, LocalProtocolError, NotConnected
from .frame import Frame
from .redelivery import DEFAULT_REDELIVERY, RedeliveryPolicy

if TYPE_CHECKING:
    from ._sending import Sender
    from .client import StompClient

__all__ = ["AckMode", "Subscription", "Subscriptions", "ack_mode"]

#: The client's acknowledgement policies: C{None} (the broker considers a
#: message delivered once sent), C{"auto"} (the client acknowledges each
#: message after its callbacks succeed) and C{"manual"} (the caller does).
AckMode = Literal["auto", "manual"] | None

# The SUBSCRIBE ack header's values, as STOMP defines them.
_WIRE_ACK_MODES = ("auto", "client", "client-individual")


def ack_mode(ack: object) -> AckMode:
    """
    C{ack} as an L{AckMode} (C{0} is C{None}, as in AnyEvent::STOMP).

    @raise BadArgument: for anything else.
    """
    if ack is None or ack == 0:
        return None
    if ack in ("auto", "manual"):
        return ack
    raise BadArgument(f"ack must be None, 0, 'auto' or 'manual', not {arguments.shown_value(ack)}")


@dataclass(eq=False)
class Subscription:
    """
    An active subscription.

    @ivar id: its C{id} header, unique within the client.
    @ivar destination: where it listens.
    @ivar ack: the client's acknowledgement policy for it.
    @ivar callback: called as C{callback(client, body, headers)} for each
        message, before the C{MESSAGE} observers; may be C{None}.
    @ivar headers: extra C{SUBSCRIBE} headers.
    @ivar redelivery: under C{ack="auto"}, what happens to a message whose
        callbacks failed (see L{RedeliveryPolicy}).
    """

    id: str
    destination: str
    ack: AckMode
    callback: Callable[[StompClient, bytes, dict[str, str]], object] | None
    headers: dict[str, str] = field(default_factory=dict)
    redelivery: RedeliveryPolicy = DEFAULT_REDELIVERY
    # Whether a message this subscription cannot acknowledge was reported
    # already: once per subscription, not once per message.
    _unackable_reported: bool = field(default=False, repr=False)


class Subscriptions:
    """
    The client's subscriptions, oldest first, and the SUBSCRIBEs that wait
    for CONNECTED.
    """

    def __init__(self, core: Core, sender: Sender) -> None:
        self._core = core
        self._sender = sender
        self.by_id: dict[str, Subscription] = {}
        self._ids = itertools.count(1)
        # SUBSCRIBEs asked for while disconnected: their callers wait.
        self._queued: dict[str, tuple[Deferred[Frame | None], bool]] = {}

    def _new_id(self, chosen: str | None) -> str:
        # The caller's (an 'id' header: RabbitMQ names a durable
        # subscription's queue after it), or the next sub-N not in use.
        if chosen is not None:
            if not chosen:
                raise BadArgument("an 'id' header must not be empty")
            if chosen in self.by_id:
                raise BadArgument(f"subscription id {chosen!r} is already in use")
            return chosen
        while True:
            made = f"sub-{next(self._ids)}"
            if made not in self.by_id:
                return made

    def create(
        self,
        destination: object,
        callback: object,
        ack: object,
        headers: object,
        redelivery: object,
    ) -> Subscription:
        """
        A new L{Subscription}, its arguments checked.

        @raise BadArgument: for any argument of the wrong type, or an
            C{ack} header that is not STOMP's or does not go with C{ack}.
        @raise UnrepresentableHeader: for a header or destination that
            the session's version (every version offered, while not
            connected) cannot write: refused now rather than when
            CONNECTED comes, where it could only be logged.
        """
        if not isinstance(destination, str) or not destination:
            raise BadArgument(
                f"destination must be a non-empty str, not {arguments.shown_value(destination)}"
            )
        if callback is not None and not callable(callback):
            raise BadArgument(f"callback must be callable, not {arguments.shown_value(callback)}")
        arguments.refuse_receipt_header(headers, "subscribe headers")
        if redelivery is None:
            redelivery = self._core.settings.redelivery
        elif not isinstance(redelivery, RedeliveryPolicy):
            raise BadArgument(f"redelivery must be a RedeliveryPolicy or None, not {redelivery!r}")
        extra = arguments.request_headers(headers, "subscribe headers")  # type: ignore[arg-type]
        subscription = Subscription(
            id=self._new_id(extra.pop("id", None)),
            destination=destination,
            ack=ack_mode(ack),
            callback=callback,
            headers=extra,
            redelivery=redelivery,
        )
        if extra.get("destination", destination) != destination:
            raise BadArgument(
                f"a 'destination' header ({extra['destination']!r}) differs from the "
                f"destination argument ({destination!r}): pass one destination"
            )
        wire_ack = subscription.headers.get("ack")
        if wire_ack is not None and wire_ack not in _WIRE_ACK_MODES:
            raise BadArgument(
                f"an 'ack: {wire_ack}' header is none of STOMP's modes: "
                f"{', '.join(_WIRE_ACK_MODES)}"
            )
        if wire_ack is not None and (wire_ack == "auto") != (subscription.ack is None):
            raise BadArgument(
                f"an 'ack: {wire_ack}' header does not go with ack={subscription.ack!r}: "
                "the broker would wait for acknowledgements the client never sends, or "
                "the other way round"
            )
        session = self._core.established
        arguments.check_representable(
            "SUBSCRIBE",
            {**subscription.headers, "destination": destination, "id": subscription.id},
            [session.version]
            if session is not None and session.version
            else self._core.settings.offered_versions,
            "subscribe",
        )
        return subscription

    def subscribe(self, subscription: Subscription, receipt: bool) -> Deferred[Subscription]:
        """
        Write C{subscription}'s SUBSCRIBE now, or as soon as CONNECTED
        arrives.

        @raise ClientClosed: after C{disconnect()}.
        """
        lifecycle = self._core.lifecycle
        if lifecycle.left:
            raise lifecycle.refuse("subscribe")
        session = self._core.established
        if session is None:
            waiter: Deferred[Frame | None] = Deferred()
            self._queued[subscription.id] = (waiter, receipt)
            self.by_id[subscription.id] = subscription
            return waiter.addCallback(lambda _: subscription)
        written = self._write(session, subscription, receipt)
        self.by_id[subscription.id] = subscription
        return written.addCallback(lambda _: subscription)

    def _write(
        self, session: Session, subscription: Subscription, receipt: bool, *, bounded: bool = True
    ) -> Deferred[Frame | None]:
        headers = dict(subscription.headers)
        headers["destination"] = subscription.destination
        headers["id"] = subscription.id
        if "ack" not in headers:
            # client-individual under 1.0 too, although only 1.1 defines
            # it: 1.0's "client" is cumulative on RabbitMQ and ActiveMQ, so
            # acknowledging a message would silently acknowledge earlier
            # ones whose callbacks are still running.  Both brokers (and
            # 1.0-only ones, which treat it as auto) accept it.
            headers["ack"] = "auto" if subscription.ack is None else "client-individual"
        frame = Frame("SUBSCRIBE", headers)
        return self._sender.request(frame, receipt, session.protocol, bounded=bounded)

    def renew(self, session: Session) -> None:
        """
        CONNECTED arrived: write every subscription's SUBSCRIBE (those
        made while disconnected have a caller waiting on it).
        """
        renewed = 0
        queued, self._queued = self._queued, {}
        for subscription in list(self.by_id.values()):
            subscribed, receipt = queued.get(subscription.id, (None, False))
            if subscribed is None:
                renewed += 1
            try:
                written = self._write(session, subscription, receipt, bounded=False)
            except LocalProtocolError as error:
                # Representable only under another version than this one.
                del self.by_id[subscription.id]
                written = fail(error)
                if subscribed is None:
                    log.error("cannot re-subscribe {sub}: {error}", sub=subscription, error=error)
            if subscribed is not None:
                written.chainDeferred(subscribed)
        if renewed:
            log.info("re-subscribed {count} subscription(s)", count=renewed)

    def fail_queued(self, error: Exception) -> None:
        """
        The client gave up or left: the SUBSCRIBEs still waiting fail,
        and their subscriptions end.
        """
        queued, self._queued = self._queued, {}
        for sub_id, (subscribed, _) in queued.items():
            self.by_id.pop(sub_id, None)
            subscribed.errback(error)

    def unsubscribe(
        self, subscription: object, headers: object, receipt: bool
    ) -> Deferred[Frame | None]:
        """
        End C{subscription} (a L{Subscription} or its id).

        @raise BadArgument: for one that is not active.
        """
        extra = arguments.request_headers(headers, "unsubscribe headers")  # type: ignore[arg-type]
        arguments.refuse_receipt_header(extra, "unsubscribe headers")
        sub_id = subscription.id if isinstance(subscription, Subscription) else subscription
        ending = self.by_id.pop(sub_id, None) if isinstance(sub_id, str) else None
        if ending is None:
            raise BadArgument(f"no active subscription {arguments.shown_value(sub_id)}")
        queued = self._queued.pop(ending.id, None)
        if queued is not None:
            # Its SUBSCRIBE was still waiting for CONNECTED: it is never
            # sent, and whoever waits on subscribe() learns so.
            queued[0].errback(
                NotConnected(f"{ending.id} was unsubscribed before its SUBSCRIBE could be sent")
            )
            return succeed(None)
        frame_headers = {**extra, "id": ending.id}
        session = self._core.session
        if session is not None and session.version == "1.0":
            # STOMP 1.0 servers may end a subscription by destination only
            # (stompserver ignores the id, coilmq refuses UNSUBSCRIBE
            # without a destination).
            frame_headers["destination"] = ending.destination
        return self._sender.request(Frame("UNSUBSCRIBE", frame_headers), receipt)

    def for_frame(self, frame: Frame) -> Subscription | None:
        """
        The subscription a MESSAGE belongs to, if still active.
        """
        sub_id = frame.headers.get("subscription")
        if sub_id is not None:
            return self.by_id.get(sub_id)
        # A STOMP 1.0 broker may leave the subscription header out.
        destination = frame.headers.get("destination")
        for subscription in self.by_id.values():
            if subscription.destination == destination:
                return subscription
        return None
