"""
The receive path's last step: a MESSAGE to the user's callbacks, then its
automatic settlement.  Not API.

L{Dispatcher.message_received} records the delivery (if it must be
acknowledged), calls the subscription's callback and the C{MESSAGE} and
C{"frame"} observers, and, under C{ack="auto"}, acknowledges the message
once they all succeeded, or refuses it as the subscription's
L{RedeliveryPolicy<stomp_twisted.redelivery.RedeliveryPolicy>} says when
one failed: a delay before each NACK, growing, and after
C{max_deliveries} the message is given up on (C{"poison"} event).  Where
a broker's NACK is final (ActiveMQ dead-letters at once), the client
delivers the message again itself, so that C{max_deliveries} means the
same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CoroutineType
from typing import Any

from twisted.internet.defer import Deferred, DeferredList, fail, succeed
from twisted.python.failure import Failure

from ._acks import Acknowledger
from ._core import Core, log
from ._flow import ReadHolds
from ._session import Delivery, Session
from ._subscriptions import Subscription, Subscriptions
from .frame import Frame
from .protocol import StompProtocol, shown_header
from .redelivery import DeliveryCounter

__all__ = ["Dispatcher"]

# How many subscription ids of undelivered messages are remembered as
# reported (a bound: a broker may make up any number of ids).
_REPORTED_LIMIT = 64


class Dispatcher:
    """
    Hands MESSAGE frames to callbacks and settles them.

    @ivar delivering: how many MESSAGE frames are being handed to
        callbacks right now (more than one when a callback makes the
        client deliver another): C{disconnect()} called from a callback
        waits until the message's own automatic ACK is under way, by
        setting L{after_delivery}.
    """

    def __init__(
        self,
        core: Core,
        subscriptions: Subscriptions,
        acks: Acknowledger,
        holds: ReadHolds,
    ) -> None:
        self._core = core
        self._subscriptions = subscriptions
        self._acks = acks
        self._holds = holds
        # What to do once the MESSAGE being delivered has been handed to
        # its callbacks (a goodbye asked for from a callback).
        self.after_delivery: Callable[[], None] | None = None
        self._counter = DeliveryCounter()
        self.delivering = 0
        # Automatic settlements still waiting for their callbacks.
        self.settling: set[Deferred[None]] = set()
        # Messages read while leaving, which no callback gets.
        self._left_undispatched = 0
        # Subscription ids whose messages went to no callback, said once.
        self._undelivered_reported: set[str] = set()

    def message_received(self, session: Session, frame: Frame) -> None:
        """
        A MESSAGE arrived on C{session}.
        """
        core = self._core
        counters = core.counters
        counters.messages_received += 1
        headers = frame.headers
        if headers.get("redelivered") == "true":
            counters.redelivered += 1
        # (Subscriptions.for_frame's usual case, inlined: the MESSAGE names
        # its subscription.)
        sub_id = headers.get("subscription")
        subscriptions = self._subscriptions
        subscription = (
            subscriptions.by_id.get(sub_id)
            if sub_id is not None
            else subscriptions.for_frame(frame)
        )
        ack = subscription.ack if subscription is not None else None
        if ack is not None and core.lifecycle.leaving:
            # (Without acknowledgements the broker has forgotten the
            # message already: it is dispatched as usual.)
            self._leave_undispatched(frame)
            return
        key = None
        if ack is not None:
            assert subscription is not None
            key = self._acks.delivery_key(session, subscription, headers)
            if key is not None:
                session.unacked[key] = Delivery(session, subscription, headers)
                self._holds.unacked_went_up(session)
        observed = core.observers.observed
        if "MESSAGE" in observed or "frame" in observed:
            results = self._deliver_observed(subscription, frame)
        elif subscription is None or subscription.callback is None:
            self._report_undelivered(subscription, frame)
            results = []
        else:
            # The usual case, without observers: the subscription's
            # callback is all there is to call, and a callback that returned
            # None is settled without a list of outcomes.
            self.delivering += 1
            try:
                try:
                    result = subscription.callback(core.client, frame.body, headers)
                except Exception:
                    result = _logged_failure(subscription)
                # An observer the callback registered sees this message
                # too, as on the general path.
                late = "MESSAGE" in observed or "frame" in observed
                if late:
                    results = [result, *core.fire_frame(frame)]
            finally:
                self.delivering -= 1
            if not late:
                if result is None:
                    # (The usual return: no isinstance against Deferred, an
                    # Awaitable, whose ABC check is slow.)
                    if ack == "auto" and key is not None:
                        # (_auto_settle of one success, without its list.)
                        try:
                            self._acknowledge(key, session, frame)
                        except Exception:
                            log.failure("automatic ACK failed")
                    if self.after_delivery is not None:
                        self._after_delivery()
                    return
                results = [result]
        auto = ack == "auto" and key is not None
        # (isinstance against Deferred, an Awaitable, takes the slow path of
        # an ABC: None is ruled out first.  A coroutine, from an async def
        # callback, is waited on too.)
        if not any(
            result is not None and isinstance(result, (Deferred, CoroutineType))
            for result in results
        ):
            # Every callback has returned (or raised).  Settle the message
            # now, without a Deferred per callback.
            if auto:
                assert key is not None
                outcomes = [(not isinstance(result, Failure), result) for result in results]
                self._settle_now(outcomes, key, session, frame)
        else:
            self._await_callbacks(session, results, key if auto else None, frame)
        self._after_delivery()

    def _deliver_observed(self, subscription: Subscription | None, frame: Frame) -> list[object]:
        # The subscription's callback, then the MESSAGE and "frame"
        # observers: what each returned.
        results: list[object] = []
        self.delivering += 1
        try:
            if subscription is not None and subscription.callback is not None:
                results.append(self._call_subscriber(subscription, frame))
            results.extend(self._core.fire_frame(frame))
        finally:
            self.delivering -= 1
        return results

    def _settle_now(
        self, outcomes: list[tuple[bool, object]], key: str, session: Session, frame: Frame
    ) -> None:
        try:
            self._auto_settle(outcomes, key, session, frame)
        except Exception:
            log.failure("automatic ACK failed")

    def _after_delivery(self) -> None:
        if self.after_delivery is not None and not self.delivering:
            then, self.after_delivery = self.after_delivery, None
            then()

    def _call_subscriber(self, subscription: Subscription, frame: Frame) -> object:
        assert subscription.callback is not None
        try:
            return subscription.callback(self._core.client, frame.body, frame.headers)
        except Exception:
            return _logged_failure(subscription)

    def _await_callbacks(
        self, session: Session, results: list[object], key: str | None, frame: Frame
    ) -> None:
        # Some callback returned a Deferred: the message is in flight (for
        # flow control) until all have fired, then, if key is given, it is
        # settled automatically.
        outcomes = [_callback_outcome(result) for result in results]
        finished: Deferred[Any] = DeferredList(outcomes, consumeErrors=True)
        running = not finished.called
        protocol = session.protocol
        if running:
            self._holds.message_started(protocol)
        if key is not None:
            finished.addCallback(self._auto_settle, key, session, frame)
        if running:
            finished.addBoth(self._holds.message_done, protocol)
            if key is not None:
                self.settling.add(finished)
                finished.addBoth(self._settled, finished)

    def _settled(self, result: object, settle: Deferred[None]) -> object:
        self.settling.discard(settle)
        return result

    def _report_undelivered(self, subscription: Subscription | None, frame: Frame) -> None:
        # A MESSAGE that no callback takes: each is an io_error, and the
        # first of each subscription a log line (a broker may stream
        # thousands to a subscription just ended).
        headers = frame.headers
        if subscription is None:
            sub_id = headers.get("subscription", "")
            whose = f"subscription {shown_header(sub_id)}, which this client does not have"
            fate = (
                "not acknowledged: a broker that wants acknowledgements "
                "delivers it again after this connection"
            )
        else:
            sub_id = subscription.id
            whose = f"subscription {sub_id} to {subscription.destination}, which has no callback"
            fate = "no MESSAGE or frame observer is registered either"
        message_id = shown_header(headers.get("message-id", ""))
        report = f"MESSAGE {message_id} for {whose}, went to no callback ({fate})"
        core = self._core
        core.observers.fire("io_error", core.client, report)
        reported = self._undelivered_reported
        if sub_id not in reported:
            if len(reported) >= _REPORTED_LIMIT:
                reported.clear()
            reported.add(sub_id)
            log.warn(
                "{report}; said once for this subscription, io_error reports each", report=report
            )

    def _leave_undispatched(self, frame: Frame) -> None:
        # Read while leaving (the DISCONNECT receipt must be read past the
        # broker's prefetch): its ACK could never follow DISCONNECT, so no
        # callback gets it, and the broker delivers it again.
        self._left_undispatched += 1
        if self._left_undispatched == 1:
            log.info(
                "leaving: messages read from now on are not handed to callbacks; the broker "
                "delivers them again (first: {id})",
                id=frame.headers.get("message-id"),
            )

    # --- ack="auto" -------------------------------------------------------------

    def _auto_settle(
        self,
        outcomes: list[tuple[bool, object]],
        key: str,
        session: Session,
        frame: Frame,
    ) -> None:
        # Acknowledge once every callback has succeeded; if any failed,
        # refuse the message as its subscription's RedeliveryPolicy says.
        failures = [result for ok, result in outcomes if isinstance(result, Failure)]
        if not failures:
            self._acknowledge(key, session, frame)
            return
        # Each failure was logged with its traceback already.
        log.warn(
            "{count} callback(s) failed: message {key} is not acknowledged",
            count=len(failures),
            key=key,
        )
        delivery = session.unacked.get(key)
        if delivery is None or not session.established or session.goodbye_sent:
            # Its connection is gone (a redelivery on a later connection
            # settles itself); and nothing may follow DISCONNECT.
            return
        self._delivery_failed(delivery, key, frame, failures[-1])

    def _acknowledge(self, key: str, session: Session, frame: Frame) -> None:
        # Every callback succeeded: the ACK, unless the connection is gone
        # or DISCONNECT written.
        delivery = session.unacked.get(key)
        if delivery is None or not session.protocol.is_stomp_connected or session.goodbye_sent:
            return
        if len(self._counter) and frame.headers.get("redelivered") != "false":
            # A message that failed before and now succeeded.
            self._counter.succeeded(_destination(frame, delivery), frame.headers, frame.body)
        self._acks.settle_automatically("ACK", delivery, key)

    def _delivery_failed(
        self, delivery: Delivery, key: str, frame: Frame, failure: Failure
    ) -> None:
        # The poison-message rule: wait before each NACK, longer each time
        # the same message fails, and give up on it after max_deliveries.
        policy = delivery.subscription.redelivery
        deliveries = self._counter.failed(_destination(frame, delivery), frame.headers, frame.body)
        if policy.exhausted(deliveries):
            self._give_up_on(delivery, key, frame, failure, deliveries)
            return
        session = delivery.session
        if session.version == "1.0":
            # STOMP 1.0 has no NACK: the message stays unacknowledged and
            # the broker redelivers it on the next connection.
            return
        delay = policy.delay(deliveries)
        if delay <= 0 and not _nack_dead_letters(session.protocol):
            self._acks.settle_automatically("NACK", delivery, key)
            return
        # Until then the message counts as in flight, for flow control.
        self._holds.message_started(session.protocol)
        session.delayed[key] = self._core.clock.callLater(
            delay, self._redeliver, key, session, frame
        )

    def _redeliver(self, key: str, session: Session, frame: Frame) -> None:
        session.delayed.pop(key, None)
        self._holds.message_done(None, session.protocol)
        delivery = session.unacked.get(key)
        if delivery is None or not session.established or session.goodbye_sent:
            # The client is leaving.
            return
        subscription = delivery.subscription
        if (
            _nack_dead_letters(session.protocol)
            and self._subscriptions.by_id.get(subscription.id) is subscription
        ):
            # This broker's NACK is final (ActiveMQ moves the message to
            # its dead-letter queue): deliver it again here instead, so
            # that max_deliveries means the same on every broker.
            del session.unacked[key]
            headers = dict(frame.headers)
            headers["redelivered"] = "true"
            self.message_received(session, Frame._received("MESSAGE", headers, frame.body))
            return
        self._acks.settle_automatically("NACK", delivery, key)

    def _give_up_on(
        self, delivery: Delivery, key: str, frame: Frame, failure: Failure, deliveries: int
    ) -> None:
        policy = delivery.subscription.redelivery
        destination = _destination(frame, delivery)
        self._counter.forget(destination, frame.headers, frame.body)
        if delivery.session.version == "1.0" or policy.on_exhausted == "ack":
            command, extra, outcome = "ACK", None, "acknowledged (dropped)"
        else:
            # RabbitMQ requeues a NACKed message unless told not to; it then
            # drops it, or dead-letters it where the queue has a
            # dead-letter exchange.  ActiveMQ dead-letters every NACK.
            command, extra, outcome = "NACK", {"requeue": "false"}, "rejected (NACK, requeue:false)"
        log.warn(
            "poison message {message_id} on {destination}: delivered {deliveries} time(s), "
            "its callbacks failed each time (last: {error}); {outcome}",
            message_id=frame.headers.get("message-id", key),
            destination=destination,
            deliveries=deliveries,
            error=failure.getErrorMessage(),
            outcome=outcome,
        )
        self._acks.settle_automatically(command, delivery, key, extra)
        core = self._core
        core.observers.fire("poison", core.client, frame.body, frame.headers, failure)


def _nack_dead_letters(protocol: StompProtocol) -> bool:
    # ActiveMQ Classic moves a NACKed message to its dead-letter queue at
    # once, where RabbitMQ requeues it.
    frame = protocol.connected_frame
    return frame is not None and frame.headers.get("server", "").startswith("ActiveMQ/")


def _destination(frame: Frame, delivery: Delivery) -> str:
    return frame.headers.get("destination", delivery.subscription.destination)


def _logged_failure(subscription: Subscription) -> Failure:
    # The exception a subscription's callback raised (being handled), logged.
    failure = Failure()  # type: ignore[no-untyped-call]
    log.failure("subscription callback for {sub} raised", failure, sub=subscription.id)
    return failure


def _callback_outcome(result: object) -> Deferred[object]:
    # What a MESSAGE callback returned, as a Deferred.  A callback that
    # raised was logged when it was called; one whose Deferred fails is
    # logged here, once, and the failure passed on.
    if isinstance(result, CoroutineType):
        # An async def callback: run as Twisted runs coroutines (awaiting
        # Deferreds; asyncio code wraps its futures, see the asyncio guide).
        result = Deferred.fromCoroutine(result)
    if isinstance(result, Deferred):
        return result.addErrback(_log_and_pass, "MESSAGE callback failed")
    if isinstance(result, Failure):
        return fail(result)
    return succeed(result)


def _log_and_pass(failure: Failure, what: str) -> Failure:
    log.failure("{what}", failure, what=what)
    return failure
