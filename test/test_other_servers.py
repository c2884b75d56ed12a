"""
The failure-path issue's items against real STOMP servers other than
RabbitMQ and ActiveMQ, over loopback (C{scripts/brokers start}): CoilMQ
1.1.0 and Debian's stompserver 0.9.9.  They bend the protocol where the
issue says clients broke:

  - CoilMQ answers a 1.2 CONNECT whose C{host} is not the machine's FQDN
    with an ERROR and keeps the socket open (item 17); its 1.2 MESSAGEs
    carry C{message-id} but no C{ack}, and it wants C{message-id} in
    every ACK (item 14); under 1.0 it refuses an UNSUBSCRIBE without
    C{destination} (item 19);
  - stompserver speaks 1.0 only, gives a message an id only under
    C{ack:client} (item 14) and ends a subscription by destination only
    (item 19);
  - both hold a C{client}-mode subscription's next message back until
    the previous one is acknowledged, which shows an ACK they accepted.

Absence is never proved by sleeping: both handle a connection's frames in
order and answer each before reading the next, delivering a message while
they handle its SEND, so once the receipt of a frame arrives, every ERROR
or MESSAGE that an earlier frame caused has arrived before it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.trial.unittest import TestCase

import stomp_twisted
from stomp_twisted import BrokerError, Frame, StompClient

from .brokers import COILMQ, STOMPSERVER, Broker, require, unique_queue
from .hostile import deadline, reactor
from .inbox import Inbox

Headers = dict[str, str]

#: Seconds any one wait may take; everything here answers in milliseconds.
WAIT = 5.0


class Trouble:
    """
    What a client reports going wrong: C{ERROR} frames, C{io_error} and
    C{disconnect} events.  A test that expects a quiet session asserts all
    three empty.
    """

    def __init__(self, client: StompClient) -> None:
        self.errors: list[str] = []
        self.io_errors: list[str] = []
        self.disconnects: list[str] = []
        client.reg_cb("ERROR", self._error)
        client.reg_cb("io_error", lambda _client, message: self.io_errors.append(message))
        client.reg_cb("disconnect", lambda _client, reason: self.disconnects.append(reason))

    def _error(self, client: StompClient, body: bytes, headers: Headers) -> None:
        self.errors.append(f"{headers.get('message', '')} ({body[:200]!r})")

    def assert_quiet(self, test: TestCase) -> None:
        test.assertEqual(
            (self.errors, self.io_errors, self.disconnects),
            ([], [], []),
            "ERROR frames, io_error and disconnect events",
        )


class ServerTestCase(TestCase):
    """
    Helpers for tests against one of these servers.

    @ivar server: the server.
    """

    server: Broker

    def setUp(self) -> None:
        require(self.server)

    def client(self, **options: Any) -> StompClient:
        """
        A client of the server with the default receipt timeout (the
        issue's finite default, item 16), disconnected when the test ends.
        """
        options.setdefault("reconnect", None)
        options.setdefault("disconnect_timeout", 2.0)
        client = stomp_twisted.connect(
            self.server.host, self.server.port, reactor=reactor, **options
        )
        self.addCleanup(lambda: deadline(client.disconnect(), WAIT, "disconnect() at clean-up"))
        return client

    async def connected(self, **options: Any) -> StompClient:
        client = self.client(**options)
        await deadline(client.when_connected(), WAIT, f"CONNECTED from {self.server.name}")
        return client

    async def quiet_round_trip(self, client: StompClient, trouble: Trouble) -> None:
        """
        Wait for a receipt for a frame written after every frame before it,
        the automatic ACKs included, then assert that nothing went wrong.
        An ACK is written once the subscription callback returns, which is
        after a test woken by that callback has written its next frame
        (BEGIN), but before the ABORT that follows BEGIN's receipt.  BEGIN
        and ABORT leave no trace in any queue.  If the broker answered an
        earlier frame with ERROR (which closes the connection), the failure
        names that ERROR.
        """
        try:
            transaction = await deadline(client.begin(), WAIT, "BEGIN's receipt")
            await deadline(client.abort(transaction), WAIT, "ABORT's receipt")
        except Exception as error:
            self.fail(f"the session did not survive ({error}); the broker said: {trouble.errors}")
        trouble.assert_quiet(self)

    def drive(self, test: Callable[[], Any]) -> Deferred[None]:
        return ensureDeferred(test())

    async def assert_unsubscribe_ends_delivery(self, versions: list[str], headers: Headers) -> None:
        """
        Item 19: UNSUBSCRIBE is confirmed without an ERROR, and a message
        sent afterwards is not delivered to this client but stays queued
        for the next subscriber.  The C{ack="auto"} message before it is
        acknowledged without an ERROR (item 14).

        @param headers: the C{SUBSCRIBE} headers.
        """
        client = await self.connected(versions=versions)
        trouble = Trouble(client)
        # Every MESSAGE, the subscription's or not: the client drops (with
        # its event) one for a subscription it has ended.
        seen = Inbox()
        client.reg_cb("MESSAGE", seen)
        queue = unique_queue(f"{self.server.name}-unsubscribe")
        inbox = Inbox()
        subscription = await deadline(
            client.subscribe(queue, inbox, ack="auto", headers=headers),
            WAIT,
            "SUBSCRIBE's receipt",
        )
        await deadline(client.send(b"before", queue), WAIT, "SEND's receipt")
        await deadline(inbox.wait_for(b"before"), WAIT, "the message before UNSUBSCRIBE")
        receipt = await deadline(client.unsubscribe(subscription), WAIT, "UNSUBSCRIBE's receipt")
        self.assertEqual(receipt.command, "RECEIPT")
        # Delivered, if at all, while the server handles the SEND.
        await deadline(client.send(b"after", queue), WAIT, "SEND's receipt")
        await self.quiet_round_trip(client, trouble)
        self.assertEqual((inbox.bodies, seen.bodies), ([b"before"], [b"before"]))

        other = await self.connected(versions=versions)
        later = Inbox()
        await deadline(other.subscribe(queue, later), WAIT, "SUBSCRIBE's receipt")
        self.assertEqual(
            await deadline(later.wait_count(1), WAIT, "the message left in the queue"),
            [b"after"],
        )

    async def assert_client_mode_acks_accepted(self, versions: list[str]) -> None:
        """
        Item 14 with C{headers={"ack": "client"}} and C{ack="auto"}: the
        server keeps the second message back until the first is
        acknowledged (and would deliver the first again after an ACK it
        did not match), so receiving exactly the two shows that the
        client's automatic ACKs were accepted.
        """
        client = await self.connected(versions=versions)
        trouble = Trouble(client)
        self.assertEqual(client.version, versions[0])
        queue = unique_queue(f"{self.server.name}-client-ack")
        inbox = Inbox()
        subscribed = client.subscribe(queue, inbox, ack="auto", headers={"ack": "client"})
        await deadline(subscribed, WAIT, "SUBSCRIBE's receipt")
        await deadline(client.send(b"one", queue), WAIT, "SEND's receipt")
        await deadline(client.send(b"two", queue), WAIT, "SEND's receipt")
        await deadline(inbox.wait_count(2), WAIT, "the second message (after the first ACK)")
        await self.quiet_round_trip(client, trouble)
        self.assertEqual(inbox.bodies, [b"one", b"two"])


class CoilMQTests(ServerTestCase):
    """
    The client against CoilMQ.
    """

    server = COILMQ

    # --- item 17 ----------------------------------------------------------

    def test_refused_host_fails_when_connected(self) -> Deferred[None]:
        """
        Item 17: with the default C{host:/}, CoilMQ answers CONNECT with
        ERROR and keeps the socket open; L{StompClient.when_connected}
        fails at once with a L{BrokerError} carrying CoilMQ's message, under
        the default reconnect policy.
        """

        async def test() -> None:
            client = self.client(reconnect=stomp_twisted.ReconnectPolicy())
            started = reactor.seconds()
            try:
                await deadline(client.when_connected(), WAIT, "when_connected() to fail")
            except BrokerError as error:
                self.assertIn("Virtual hosting is not supported or host is unknown", str(error))
            else:
                self.fail("coilmq accepted host:/")
            self.assertLess(reactor.seconds() - started, 2.0)
            self.assertFalse(client.is_connected)

        return self.drive(test)

    # --- items 14 and 16 --------------------------------------------------

    def test_1_2_message_without_ack_header_is_acknowledged(self) -> Deferred[None]:
        """
        Items 14 and 16 under STOMP 1.2 (C{host} = the FQDN, which CoilMQ
        requires): SEND's receipt arrives, the MESSAGE, which carries
        C{message-id} but no C{ack}, reaches an C{ack="auto"} subscription,
        and the client acknowledges it in a way CoilMQ accepts: no ERROR,
        no C{io_error}, the session stays up.  (CoilMQ treats
        C{client-individual} as C{auto} and never redelivers, so a refused
        ACK shows only as its ERROR.)
        """

        async def test() -> None:
            client = await self.connected(vhost=socket.getfqdn())
            trouble = Trouble(client)
            self.assertEqual(client.version, "1.2")
            queue = unique_queue("coilmq-ack12")
            inbox = Inbox()
            await deadline(client.subscribe(queue, inbox, ack="auto"), WAIT, "SUBSCRIBE's receipt")
            receipt = await deadline(client.send(b"one", queue), WAIT, "SEND's receipt")
            self.assertIsInstance(receipt, Frame)
            self.assertEqual(receipt.command, "RECEIPT")
            headers = await deadline(inbox.wait_for(b"one"), WAIT, "the MESSAGE")
            # The premise: what makes this server different.
            self.assertNotIn("ack", headers)
            self.assertIn("message-id", headers)
            await self.quiet_round_trip(client, trouble)
            self.assertTrue(client.is_connected)

        return self.drive(test)

    def test_1_1_client_mode_acknowledgements_are_accepted(self) -> Deferred[None]:
        """
        Item 14 under STOMP 1.1, in C{client} mode: the automatic ACKs
        (C{message-id} and C{subscription}) are accepted.
        """
        return self.drive(lambda: self.assert_client_mode_acks_accepted(["1.1"]))

    # --- items 19 and 14 under STOMP 1.0 ---------------------------------

    def test_1_0_unsubscribe_ends_the_subscription(self) -> Deferred[None]:
        """
        Item 19 under STOMP 1.0: CoilMQ refuses an UNSUBSCRIBE without
        C{destination} with an ERROR; the client's is confirmed and ends
        the subscription.  The message before it, under the client's
        default C{ack:client-individual}, is acknowledged by its
        C{message-id}, which CoilMQ requires.
        """
        return self.drive(lambda: self.assert_unsubscribe_ends_delivery(["1.0"], {}))


class StompServerTests(ServerTestCase):
    """
    The client against Debian's stompserver (STOMP 1.0 only).
    """

    server = STOMPSERVER

    def test_client_mode_acknowledgements_are_accepted(self) -> Deferred[None]:
        """
        Item 14's STOMP 1.0 case: under C{ack:client}, the one mode in which
        stompserver gives messages a C{message-id}, the client's automatic
        ACKs are accepted.
        """
        return self.drive(lambda: self.assert_client_mode_acks_accepted(["1.0"]))

    def test_message_without_id_is_reported_once(self) -> Deferred[None]:
        """
        Item 14: under the client's default C{ack:client-individual},
        stompserver sends MESSAGEs without C{message-id}, which cannot be
        acknowledged: the client says so once per subscription, in an
        C{io_error} event that names the remedy, and the session goes on.
        """

        async def test() -> None:
            client = await self.connected(versions=["1.0"])
            trouble = Trouble(client)
            queue = unique_queue("stompserver-no-id")
            inbox = Inbox()
            await deadline(client.subscribe(queue, inbox, ack="auto"), WAIT, "SUBSCRIBE's receipt")
            await deadline(client.send(b"one", queue), WAIT, "SEND's receipt")
            await deadline(client.send(b"two", queue), WAIT, "SEND's receipt")
            await deadline(inbox.wait_count(2), WAIT, "both messages")
            self.assertNotIn("message-id", inbox.messages[0][1])
            reported, trouble.io_errors = trouble.io_errors, []
            self.assertEqual(len(reported), 1, reported)
            self.assertIn("cannot be acknowledged", reported[0])
            self.assertIn("'ack': 'client'", reported[0])
            await self.quiet_round_trip(client, trouble)

        return self.drive(test)

    def test_unsubscribe_ends_the_subscription(self) -> Deferred[None]:
        """
        Item 19: stompserver ignores an UNSUBSCRIBE by C{id} alone; the
        client's names the destination too, and ends the subscription.
        (Under C{ack:client}, so that the message before it has an id.)
        """
        return self.drive(lambda: self.assert_unsubscribe_ends_delivery(["1.0"], {"ack": "client"}))
