"""
The client's lifecycle against scripted brokers over real loopback TCP
(L{test.hostile}): brokers that end each session at once, refuse CONNECT
and keep the socket open, never send receipts, close without a word, or
stop reading.  Each test names the item of the failure-paths issue it
covers.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.logger import globalLogPublisher

import stomp_twisted
from stomp_twisted import (
    BrokerError,
    ClientClosed,
    NotConnected,
    OutboxPolicy,
    ReconnectPolicy,
    StompClient,
)
from stomp_twisted.errors import ReceiptTimeout
from stomp_twisted.frame import Frame

from .hostile import BrokerSide, HostileTestCase, Script, ScriptedBroker, deadline, reactor


class Events:
    """
    Records a client's events as C{(name, args)}, and lets a test wait for
    the next of a name.
    """

    def __init__(self, client: StompClient, *names: str) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._waiting: dict[str, list[Deferred[tuple[Any, ...]]]] = {}
        for name in names:
            client.reg_cb(name, self._recorder(name))

    def _recorder(self, name: str) -> Any:
        def record(client: StompClient, *args: Any) -> None:
            self.calls.append((name, args))
            for waiter in self._waiting.pop(name, []):
                waiter.callback(args)

        return record

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def args(self, name: str) -> list[tuple[Any, ...]]:
        return [args for called, args in self.calls if called == name]

    def next(self, name: str, seconds: float = 10.0) -> Deferred[tuple[Any, ...]]:
        waiter: Deferred[tuple[Any, ...]] = Deferred()
        self._waiting.setdefault(name, []).append(waiter)
        return deadline(waiter, seconds, f"{name!r} event")


class CloseAfterConnected(Script):
    """
    Ends every session right after CONNECTED.
    """

    def on_connect(self, side: BrokerSide, frame: Frame) -> None:
        super().on_connect(side, frame)
        side.close()


class RefuseSubscribe(Script):
    """
    Answers SUBSCRIBE with ERROR and closes, as RabbitMQ does for a
    destination the user may not read.
    """

    def on_frame(self, side: BrokerSide, frame: Frame) -> None:
        if frame.command == "SUBSCRIBE":
            side.send("ERROR", {"message": "access_refused"}, b"read access refused")
            side.close()
            return
        super().on_frame(side, frame)


class RefuseConnectKeepOpen(Script):
    """
    Answers CONNECT with ERROR and keeps the socket open, as coilmq does
    for C{host:/} and RabbitMQ for bad credentials.
    """

    def on_connect(self, side: BrokerSide, frame: Frame) -> None:
        side.send("ERROR", {"message": "Virtual host '/' not served"}, b"")


class EchoPasscode(Script):
    """
    Refuses CONNECT quoting the passcode it was sent, as a careless broker
    might.
    """

    def on_connect(self, side: BrokerSide, frame: Frame) -> None:
        passcode = frame.headers.get("passcode", "")
        side.send("ERROR", {"message": f"bad passcode {passcode}"}, passcode.encode())


class NoReceipts(Script):
    """
    Never sends a RECEIPT (morbid, stomp-broker-js).
    """

    def on_frame(self, side: BrokerSide, frame: Frame) -> None:
        if frame.command == "DISCONNECT":
            side.close()


class Stomp10(Script):
    version = None


class PoisonSend(Script):
    """
    Ends the session with an ERROR, and no receipt-id, on any SEND to
    C{/queue/poison}, as a broker does for a message it will not take.
    """

    def on_frame(self, side: BrokerSide, frame: Frame) -> None:
        if frame.command == "SEND" and frame.headers.get("destination") == "/queue/poison":
            side.send("ERROR", {"message": "poison refused"}, b"")
            side.close()
            return
        super().on_frame(side, frame)


class StopReadingAfterConnected(Script):
    def on_connect(self, side: BrokerSide, frame: Frame) -> None:
        super().on_connect(side, frame)
        side.stop_reading()


class HostileLifecycleTests(HostileTestCase):
    def client(self, broker: ScriptedBroker, **options: Any) -> StompClient:
        client = stomp_twisted.connect("127.0.0.1", broker.port, reactor=reactor, **options)
        self.addCleanup(self.leave, client)
        return client

    def gave_up(self, events: Events) -> bool:
        reasons = events.args("disconnect")
        return bool(reasons) and "gave up" in reasons[-1][0]

    def leave(self, client: StompClient) -> Deferred[None]:
        return deadline(client.disconnect(), 15, "disconnect() at clean-up")

    def test_short_sessions_back_off_and_count(self) -> Deferred[None]:
        """
        Item 5: a broker that ends every session right after CONNECTED gets
        growing waits between sessions, and C{max_attempts} counts those
        sessions: the client gives up after three, saying why.
        """

        async def run() -> None:
            broker = self.broker(CloseAfterConnected())
            policy = ReconnectPolicy(
                initial_delay=0.05, multiplier=2, jitter=0, max_attempts=3, stable_after=5
            )
            client = self.client(broker, reconnect=policy)
            events = Events(client, "disconnect", "CONNECTED")
            while not self.gave_up(events):
                await events.next("disconnect", 10)
            self.assertEqual(len(broker.sides), 3)
            self.assertEqual(events.names().count("CONNECTED"), 3)
            [why] = events.args("disconnect")[-1]
            self.assertIn("gave up after 3 failed attempts", why)
            self.assertIn("stable_after", why)
            self.failureResultOf(client.when_connected(), NotConnected)

        return ensureDeferred(run())

    def test_refused_subscribe_backs_off(self) -> Deferred[None]:
        """
        Item 5: a broker that ends each session over a SUBSCRIBE it refuses
        is not reconnected to in a tight loop: the waits grow, and with
        C{max_attempts} the client stops.
        """

        async def run() -> None:
            broker = self.broker(RefuseSubscribe())
            policy = ReconnectPolicy(initial_delay=0.05, jitter=0, max_attempts=4)
            client = self.client(broker, destination="/queue/forbidden", reconnect=policy)
            events = Events(client, "disconnect", "io_error")
            while not self.gave_up(events):
                await events.next("disconnect", 10)
            self.assertEqual(len(broker.sides), 4)
            self.assertEqual(len(broker.frames("SUBSCRIBE")), 4)
            self.assertIn("access_refused", events.args("disconnect")[-1][0])

        return ensureDeferred(run())

    def test_poison_message_leaves_the_outbox(self) -> Deferred[None]:
        """
        Item 5: with an outbox, a message the broker answers with ERROR
        (no receipt-id) and a closed session is blamed for each loss it was
        the oldest unconfirmed message in; after the policy's
        C{max_losses} it fails with the broker's error and leaves the
        outbox, and the messages after it go through.
        """

        async def run() -> None:
            broker = self.broker(PoisonSend())
            policy = ReconnectPolicy(initial_delay=0.02, jitter=0, stable_after=0)
            client = self.client(broker, reconnect=policy, outbox=OutboxPolicy(max_losses=3))
            await deadline(client.when_connected())
            poison = client.send(b"bad", "/queue/poison")
            good = client.send(b"good", "/queue/fine")
            try:
                await deadline(poison, 20, "the poison message to fail")
            except BrokerError as error:
                self.assertIn("poison refused", str(error))
            else:
                self.fail("the broker took the poison message")
            destinations = [f.headers["destination"] for f in broker.frames("SEND")]
            self.assertEqual(destinations.count("/queue/poison"), 3)
            await deadline(good, 20, "the good message's receipt")
            self.assertIn(b"good", [f.body for f in broker.frames("SEND")])

        return ensureDeferred(run())

    def test_refused_connect_fails_when_connected_at_once(self) -> Deferred[None]:
        """
        Item 17: a broker that answers CONNECT with ERROR and keeps the
        socket open fails L{when_connected} at once, with its message,
        whatever the reconnect policy does next.
        """

        async def run() -> None:
            broker = self.broker(RefuseConnectKeepOpen())
            client = self.client(broker)
            started = reactor.seconds()
            try:
                await deadline(client.when_connected(), 5, "when_connected() to fail")
            except BrokerError as error:
                self.assertIn("Virtual host '/' not served", str(error))
            else:
                self.fail("when_connected() succeeded")
            self.assertLess(reactor.seconds() - started, 2)

        return ensureDeferred(run())

    def test_echoed_passcode_is_redacted(self) -> Deferred[None]:
        """
        A refusal that quotes the passcode reaches the caller, the events
        and the log with the passcode replaced by C{***}.
        """
        secret = "hunter2-secret"
        seen: list[str] = []

        def observe(event: dict[str, Any]) -> None:
            seen.append(repr(event))

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)

        async def run() -> None:
            broker = self.broker(EchoPasscode())
            client = self.client(broker, login="app", passcode=secret, reconnect=None)
            events = Events(client, "connect_error", "disconnect")
            try:
                await deadline(client.when_connected(), 5, "when_connected() to fail")
            except BrokerError as error:
                self.assertIn("bad passcode ***", str(error))
                self.assertNotIn(secret, str(error))
            else:
                self.fail("connected")
            await events.next("disconnect")
            self.assertNotIn(secret, repr(events.calls))
            self.assertTrue(seen)
            self.assertFalse([line for line in seen if secret in line])

        return ensureDeferred(run())

    def test_missing_receipts_time_out(self) -> Deferred[None]:
        """
        Item 16: a server that never sends receipts fails the wait with
        L{ReceiptTimeout} after C{receipt_timeout}, not never.
        """

        async def run() -> None:
            broker = self.broker(NoReceipts())
            client = self.client(broker, receipt_timeout=0.3, disconnect_timeout=0.5)
            await deadline(client.when_connected())
            try:
                await deadline(client.send(b"x", "/queue/a"), 5, "the receipt timeout")
            except ReceiptTimeout as error:
                self.assertIn("SEND to /queue/a", str(error))
            else:
                self.fail("a receipt came from a broker that sends none")

        return ensureDeferred(run())

    def test_broker_close_is_io_error(self) -> Deferred[None]:
        """
        Item 18: a broker closing an established connection without ERROR
        is an C{io_error} saying that it closed the connection.
        """

        async def run() -> None:
            broker = self.broker(CloseAfterConnected())
            client = self.client(broker)
            events = Events(client, "io_error", "disconnect")
            await events.next("disconnect")
            [(why,)] = events.args("io_error")[:1]
            self.assertEqual(why, "the broker closed the connection")

        return ensureDeferred(run())

    def test_when_connected_after_disconnect(self) -> Deferred[None]:
        """
        Item 10: once L{disconnect} is called, while DISCONNECT is still in
        flight, the client is no longer connected and L{when_connected}
        fails with L{ClientClosed}.
        """

        async def run() -> None:
            broker = self.broker(NoReceipts())
            client = self.client(broker, disconnect_timeout=0.5)
            await deadline(client.when_connected())
            leaving = client.disconnect()
            self.assertFalse(client.is_connected)
            self.failureResultOf(client.when_connected(), ClientClosed)
            await deadline(leaving, 5, "disconnect() to end")

        return ensureDeferred(run())

    def test_stomp10_unsubscribe_names_destination(self) -> Deferred[None]:
        """
        Item 19: under STOMP 1.0, UNSUBSCRIBE carries the destination too.
        """

        async def run() -> None:
            broker = self.broker(Stomp10())
            client = self.client(broker)
            await deadline(client.when_connected())
            self.assertEqual(client.version, "1.0")
            subscription = await deadline(client.subscribe("/queue/a"))
            await deadline(client.unsubscribe(subscription))
            [frame] = broker.frames("UNSUBSCRIBE")
            self.assertEqual(frame.headers["destination"], "/queue/a")
            self.assertEqual(frame.headers["id"], subscription.id)

        return ensureDeferred(run())

    def test_connection_events_as_anyevent(self) -> Deferred[None]:
        """
        Item 20: C{prepare} gets C{(client, protocol)} and C{connect}
        C{(client, protocol, host, port, retry)}; the per-command event
        fires before C{frame}.
        """

        async def run() -> None:
            broker = self.broker(Script())
            client = StompClient(
                stomp_twisted.endpoints.client_endpoint(reactor, "127.0.0.1", broker.port),
                reactor=reactor,
            )
            self.addCleanup(self.leave, client)
            events = Events(client, "prepare", "connect", "CONNECTED", "frame")
            client.start()
            await events.next("frame")
            self.assertEqual(events.names(), ["prepare", "connect", "CONNECTED", "frame"])
            [(protocol,)] = events.args("prepare")
            [(same, host, port, retry)] = events.args("connect")
            self.assertIs(same, protocol)
            self.assertEqual((host, port), ("127.0.0.1", broker.port))
            self.assertTrue(callable(retry))

        return ensureDeferred(run())

    def test_disconnect_ends_when_the_broker_stops_reading(self) -> Deferred[None]:
        """
        Item 1: against a broker that has stopped reading, once the send
        buffers are full, L{disconnect} still ends within its timeout and
        fires C{disconnect}.
        """

        async def run() -> None:
            broker = self.broker(StopReadingAfterConnected())
            client = self.client(broker, disconnect_timeout=2, max_send_buffer=1 << 30)
            events = Events(client, "disconnect")
            await deadline(client.when_connected())
            protocol = client.factory._core.session.protocol
            assert protocol is not None
            chunk = b"x" * 65536
            for _ in range(2000):
                client.send(chunk, "/queue/a", receipt=False).addErrback(lambda _: None)
                if protocol.send_buffer_full:
                    break
            self.assertTrue(protocol.send_buffer_full)
            started = reactor.seconds()
            await deadline(client.disconnect(), 4, "disconnect() to end")
            self.assertLess(reactor.seconds() - started, 3)
            self.assertEqual(len(events.args("disconnect")), 1)

        return ensureDeferred(run())
