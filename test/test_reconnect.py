"""
Reconnection and failover: the back-off policy, failover URIs, the
reconnect loop, and what a client carries over from one connection to the
next (subscriptions) and what it does not (receipts, acknowledgements,
transactions).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.error import ConnectionLost as TCPConnectionLost
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

import stomp_twisted
from stomp_twisted.client import StompClient
from stomp_twisted.errors import AckError, BadArgument, ConnectionLost, NotConnected
from stomp_twisted.failover import BrokerAddress, FailoverEndpoint, parse_failover_uri
from stomp_twisted.reconnect import DEFAULT_RECONNECT, ReconnectPolicy

from .fakes import FakeEndpoint

NO_JITTER = ReconnectPolicy(initial_delay=1.0, max_delay=8.0, multiplier=2.0, jitter=0.0)


class ReconnectPolicyTests(SynchronousTestCase):
    """
    L{ReconnectPolicy.delay}.
    """

    def test_exponential_with_cap(self) -> None:
        """
        Delays grow by the multiplier from the initial delay and stop at
        the maximum.
        """
        delays = [NO_JITTER.delay(attempt) for attempt in range(1, 7)]
        self.assertEqual(delays, [1.0, 2.0, 4.0, 8.0, 8.0, 8.0])

    def test_jitter_adds_up_to_its_fraction(self) -> None:
        """
        Jitter adds between 0 and C{jitter} of the delay.
        """
        policy = ReconnectPolicy(initial_delay=10.0, jitter=0.5)
        self.assertEqual(policy.delay(1, rand=lambda: 0.0), 10.0)
        self.assertEqual(policy.delay(1, rand=lambda: 1.0), 15.0)

    def test_huge_attempt_numbers(self) -> None:
        """
        A client retrying for months does not overflow.
        """
        self.assertEqual(NO_JITTER.delay(10**9), 8.0)

    def test_invalid(self) -> None:
        """
        Nonsense settings raise L{BadArgument}.
        """
        for settings in (
            {"initial_delay": -1},
            {"multiplier": 0.5},
            {"jitter": 2},
            {"jitter": "0.1"},
            {"max_attempts": 0},
            # Past the bounds that keep the back-off's arithmetic finite:
            # an overflow inside the reconnect loop stopped it silently.
            {"multiplier": 1e200},
            {"multiplier": 1001},
            {"max_delay": 1e308},
            {"refused_delay": 366 * 24 * 3600},
            {"stable_after": float("nan")},
        ):
            self.assertRaises(BadArgument, ReconnectPolicy, **settings)

    def test_largest_settings_stay_finite(self) -> None:
        """
        At the bounds (a multiplier of 1000, a year's delays), every
        attempt's delay is a finite number within C{max_delay} and its
        jitter.
        """
        year = 365 * 24 * 3600.0
        policy = ReconnectPolicy(initial_delay=year, max_delay=year, multiplier=1000, jitter=1)
        for attempt in (1, 2, 65, 10**9):
            delay = policy.delay(attempt, rand=lambda: 1.0)
            self.assertEqual(delay, 2 * year)
        tiny = ReconnectPolicy(initial_delay=1e-9, max_delay=year, multiplier=1000, jitter=0)
        self.assertEqual(tiny.delay(10**9), year)


class FailoverURITests(SynchronousTestCase):
    """
    L{parse_failover_uri}.
    """

    def test_brokers_and_options(self) -> None:
        """
        The brokers keep their order and scheme; ActiveMQ's options (in
        milliseconds) become the policy.
        """
        brokers, policy = parse_failover_uri(
            "failover:(tcp://h1:61613,ssl://h2:61612)?randomize=false&initialReconnectDelay=250"
            "&maxReconnectDelay=30000&backOffMultiplier=3&maxReconnectAttempts=7"
        )
        self.assertEqual(
            brokers, [BrokerAddress("h1", 61613, False), BrokerAddress("h2", 61612, True)]
        )
        self.assertEqual(
            (policy.initial_delay, policy.max_delay, policy.multiplier, policy.max_attempts),
            (0.25, 30.0, 3.0, 8),  # 7 retries after the first attempt
        )
        self.assertFalse(policy.randomize)

    def test_activemq_defaults(self) -> None:
        """
        As in ActiveMQ, C{randomize} defaults to true, and -1 attempts
        means no limit; C{useExponentialBackOff=false} keeps the delay
        constant.
        """
        brokers, policy = parse_failover_uri(
            "failover:tcp://h1:1,tcp://h2?maxReconnectAttempts=-1&useExponentialBackOff=false"
        )
        self.assertEqual(brokers, [BrokerAddress("h1", 1), BrokerAddress("h2", 61613)])
        self.assertTrue(policy.randomize)
        self.assertIsNone(policy.max_attempts)
        self.assertEqual(policy.multiplier, 1.0)

    def test_zero_attempts_means_no_reconnection(self) -> None:
        """
        As in ActiveMQ, C{maxReconnectAttempts=0} never reconnects: the
        policy is C{None}.
        """
        _, policy = parse_failover_uri("failover:(tcp://h:1)?maxReconnectAttempts=0")
        self.assertIsNone(policy)

    def test_single_uri(self) -> None:
        """
        A plain C{tcp://} or C{ssl://} URI names one broker.
        """
        self.assertEqual(parse_failover_uri("ssl://b")[0], [BrokerAddress("b", 61612, True)])

    def test_bad_uris(self) -> None:
        """
        Unknown schemes, options and malformed lists raise L{BadArgument}
        naming the problem.
        """
        for uri in (
            "failover:(tcp://h1:1",
            "failover:()",
            "failover:(http://h:1)",
            "failover:(tcp://h:1)?nonsense=1",
            "failover:(tcp://h:1)?randomize=maybe",
            "failover:(tcp://h:99999)",
            "failover:(tcp://:1)",
        ):
            self.assertRaises(BadArgument, parse_failover_uri, uri)


class Recorder:
    def __init__(self, client: StompClient, *events: str) -> None:
        self.seen: list[tuple[str, tuple[Any, ...]]] = []
        for event in events:
            client.reg_cb(event, self._recorder(event))

    def _recorder(self, event: str) -> Any:
        return lambda client, *args: self.seen.append((event, args))

    def names(self) -> list[str]:
        return [name for name, _ in self.seen]


class ReconnectLoopTests(SynchronousTestCase):
    """
    A L{StompClient} with a reconnect policy, over fake endpoints and a
    L{Clock}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = FakeEndpoint()

    def client(self, endpoint: Any = None, **kwargs: Any) -> StompClient:
        kwargs.setdefault("reconnect", NO_JITTER)
        client = StompClient(endpoint or self.endpoint, reactor=self.clock, **kwargs)
        client.start()
        return client

    def test_backoff_between_failures(self) -> None:
        """
        Failed attempts are retried after the policy's growing delays,
        each reported as C{connect_error}.
        """
        self.endpoint.refuse = ConnectionRefusedError()
        client = self.client()
        events = Recorder(client, "connect_error")
        self.assertEqual(self.endpoint.attempts, 1)
        for delay, attempts in ((1.0, 2), (2.0, 3), (4.0, 4), (8.0, 5), (8.0, 6)):
            self.clock.advance(delay - 0.01)
            self.assertEqual(self.endpoint.attempts, attempts - 1)
            self.clock.advance(0.01)
            self.assertEqual(self.endpoint.attempts, attempts)
        self.assertEqual(events.names(), ["connect_error"] * 5)

    def test_gives_up_after_max_attempts(self) -> None:
        """
        After C{max_attempts} consecutive failures the client stops, fails
        L{when_connected} with L{NotConnected} saying why, fires
        C{disconnect} with the reason, and leaves no timer behind.
        """
        self.endpoint.refuse = ConnectionRefusedError()
        policy = ReconnectPolicy(initial_delay=1.0, jitter=0.0, max_attempts=3)
        client = self.client(reconnect=policy)
        waiting = client.when_connected()
        events = Recorder(client, "disconnect")
        self.clock.advance(1.0)
        self.assertNoResult(waiting)
        self.clock.advance(2.0)
        failure = self.failureResultOf(waiting, NotConnected)
        self.assertIn("gave up after 3 failed attempts", str(failure.value))
        self.assertIn("refused", str(failure.value))
        self.assertEqual(len(events.seen), 1)
        self.assertIn("gave up", events.seen[0][1][0])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(1000)
        self.assertEqual(self.endpoint.attempts, 3)
        self.failureResultOf(client.when_connected(), NotConnected)

    def test_success_resets_the_count(self) -> None:
        """
        A CONNECTED in between starts the count of failures afresh.
        """
        policy = ReconnectPolicy(initial_delay=1.0, jitter=0.0, max_attempts=2)
        self.endpoint.refuse = ConnectionRefusedError()
        client = self.client(reconnect=policy)  # failure 1
        self.endpoint.refuse = None
        self.clock.advance(1.0)
        self.endpoint.last.connected("1.2")
        self.clock.advance(policy.stable_after)
        self.endpoint.last.lose(TCPConnectionLost())
        self.endpoint.refuse = ConnectionRefusedError()
        self.clock.advance(1.0)  # the attempt after the loss fails: failure 1 again
        waiting = client.when_connected()
        self.assertNoResult(waiting)
        self.clock.advance(2.0)  # failure 2: gives up
        self.failureResultOf(waiting, NotConnected)

    def test_short_session_counts_as_failure(self) -> None:
        """
        A session lost before C{stable_after} counts as a failed attempt:
        the waits keep growing and C{max_attempts} counts it, so a broker
        that ends every session at once is not hammered for ever.
        """
        policy = ReconnectPolicy(initial_delay=1.0, jitter=0.0, max_attempts=3, stable_after=5)
        client = self.client(reconnect=policy)
        events = Recorder(client, "disconnect", "connect_error")
        for delay in (1.0, 2.0):
            self.endpoint.last.connected("1.2")
            self.clock.advance(4.9)
            self.endpoint.last.lose(TCPConnectionLost())
            attempts = self.endpoint.attempts
            self.clock.advance(delay - 0.01)
            self.assertEqual(self.endpoint.attempts, attempts)
            self.clock.advance(0.01)
            self.assertEqual(self.endpoint.attempts, attempts + 1)
        self.endpoint.last.connected("1.2")
        self.endpoint.last.lose(TCPConnectionLost())
        self.clock.advance(1000)
        self.assertEqual(self.endpoint.attempts, 3)
        self.assertEqual(events.names(), ["disconnect"] * 3)
        [why] = events.seen[-1][1]
        self.assertIn("gave up after 3 failed attempts", why)
        self.assertIn("stable_after=5", why)
        self.failureResultOf(client.when_connected(), NotConnected)

    def test_stable_session_resets_the_count(self) -> None:
        """
        A session that lasts C{stable_after} counts as working: after its
        loss the wait is C{initial_delay} again.
        """
        policy = ReconnectPolicy(initial_delay=1.0, jitter=0.0, stable_after=5)
        client = self.client(reconnect=policy)
        self.endpoint.last.connected("1.2")
        self.endpoint.last.lose(TCPConnectionLost())  # short: failure 1
        self.clock.advance(1.0)
        self.endpoint.last.connected("1.2")
        self.clock.advance(5.0)
        self.endpoint.last.lose(TCPConnectionLost())
        self.clock.advance(1.0)
        self.assertEqual(self.endpoint.attempts, 3)
        self.assertTrue(client.factory._reconnector.running)

    def test_reconnects_and_resubscribes(self) -> None:
        """
        After losing an established connection the client connects again,
        sends CONNECT, re-subscribes every active subscription with its id
        and ack mode, and fires C{connect}, C{CONNECTED} and
        L{when_connected} again.
        """
        client = self.client()
        first = self.endpoint.last
        first.sent()
        first.connected("1.2")
        client.subscribe("/queue/a", ack="auto", headers={"prefetch-count": "10"}, receipt=False)
        client.subscribe("/topic/b", receipt=False)
        subscribes = first.sent()
        events = Recorder(client, "connect", "CONNECTED", "disconnect", "io_error")
        first.lose(TCPConnectionLost("reset"))
        self.assertFalse(client.is_connected)
        waiting = client.when_connected()
        self.clock.advance(1.0)
        second = self.endpoint.last
        self.assertIsNot(second, first)
        self.assertEqual(second.sent_one().command, "CONNECT")
        second.connected("1.2")
        self.assertEqual(second.sent(), subscribes)
        self.assertIs(self.successResultOf(waiting), client)
        self.assertEqual(events.names(), ["io_error", "disconnect", "connect", "CONNECTED"])

    def test_unsubscribed_stays_unsubscribed(self) -> None:
        """
        A subscription ended before the loss is not renewed.
        """
        client = self.client()
        self.endpoint.last.connected("1.2")
        subscription = self.successResultOf(client.subscribe("/queue/a", receipt=False))
        client.unsubscribe(subscription, receipt=False)
        self.endpoint.last.lose()
        self.clock.advance(1.0)
        self.endpoint.last.sent()
        self.endpoint.last.connected("1.2")
        self.assertEqual(self.endpoint.last.sent(), [])

    def test_connection_state_is_not_carried_over(self) -> None:
        """
        Receipts of the lost connection fail with L{ConnectionLost}; an
        ACK for a message it delivered is refused with L{AckError} rather
        than sent on the new connection; so is its transaction.
        """
        client = self.client()
        first = self.endpoint.last
        first.connected("1.2")
        client.subscribe("/queue/a", ack="manual", receipt=False)
        transaction = self.successResultOf(client.begin(receipt=False))
        first.receive(
            "MESSAGE",
            {"destination": "/queue/a", "message-id": "m1", "subscription": "sub-1", "ack": "a1"},
            b"x",
        )
        pending = client.send(b"y", "/queue/a")
        first.lose(TCPConnectionLost())
        self.failureResultOf(pending, ConnectionLost)
        self.clock.advance(1.0)
        second = self.endpoint.last
        second.connected("1.2")
        second.sent()
        self.assertRaises(AckError, client.ack, "a1")
        self.failureResultOf(client.commit(transaction), ConnectionLost)
        self.assertEqual(second.sent(), [])

    def test_send_while_disconnected_fails_at_once(self) -> None:
        """
        Between connections, L{send} fails at once with L{NotConnected}
        instead of waiting.
        """
        client = self.client()
        self.endpoint.last.connected("1.2")
        self.endpoint.last.lose()
        self.failureResultOf(client.send(b"x", "/queue/a"), NotConnected)

    def test_refused_login_backs_off(self) -> None:
        """
        A broker that answers CONNECT with ERROR (bad credentials) is not
        retried before the policy's C{refused_delay}, however short the
        back-off.
        """
        client = self.client(reconnect=ReconnectPolicy(initial_delay=0.01, jitter=0.0))
        events = Recorder(client, "connect_error")
        self.endpoint.last.receive("ERROR", {"message": "Access refused"}, b"")
        self.endpoint.last.lose()
        self.assertIn("Access refused", events.seen[0][1][0])
        self.clock.advance(4.99)
        self.assertEqual(self.endpoint.attempts, 1)
        self.clock.advance(0.01)
        self.assertEqual(self.endpoint.attempts, 2)

    def test_handshake_timeout(self) -> None:
        """
        A broker that accepts the connection but never answers CONNECT
        is dropped after C{connect_timeout}, and that counts as a failed
        attempt.
        """
        client = self.client(connect_timeout=5.0)
        events = Recorder(client, "connect_error")
        conn = self.endpoint.last
        self.clock.advance(4.9)
        self.assertFalse(conn.closed_by_client)
        self.clock.advance(0.1)
        self.assertTrue(conn.closed_by_client)
        conn.lose()
        self.assertIn("no CONNECTED within 5.0 s", events.seen[0][1][0])
        self.clock.advance(1.0)
        self.assertEqual(self.endpoint.attempts, 2)

    def test_disconnect_stops_retrying(self) -> None:
        """
        L{disconnect} while waiting to retry cancels the retry.
        """
        self.endpoint.refuse = ConnectionRefusedError()
        client = self.client()
        self.successResultOf(client.disconnect())
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(100)
        self.assertEqual(self.endpoint.attempts, 1)

    def test_disconnect_while_connecting(self) -> None:
        """
        L{disconnect} during a connection attempt cancels it.
        """
        self.endpoint.pending = True
        client = self.client()
        self.successResultOf(client.disconnect())
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_graceful_disconnect_does_not_reconnect(self) -> None:
        """
        After L{disconnect} has closed the connection, nothing reconnects.
        """
        client = self.client()
        conn = self.endpoint.last
        conn.connected("1.2")
        conn.sent()
        closing = client.disconnect()
        conn.receipt(conn.sent_one().headers["receipt"])
        conn.lose()
        self.successResultOf(closing)
        self.clock.advance(100)
        self.assertEqual(self.endpoint.attempts, 1)

    def test_failover_moves_to_the_next_broker(self) -> None:
        """
        A broker that refuses moves the client to the next one of the
        list; losing that one moves it on, round the list.
        """
        down = FakeEndpoint(refuse=ConnectionRefusedError())
        up = FakeEndpoint()
        client = self.client(FailoverEndpoint([down, up], ["down", "up"]))
        self.assertEqual((down.attempts, up.attempts), (1, 0))
        self.assertEqual(client.broker, "down")
        self.clock.advance(1.0)
        self.assertEqual(up.attempts, 1)
        self.assertEqual(client.broker, "up")
        up.last.connected("1.2")
        self.assertTrue(client.is_connected)
        self.clock.advance(DEFAULT_RECONNECT.stable_after)
        up.last.lose()
        self.clock.advance(1.0)
        self.assertEqual((down.attempts, up.attempts), (2, 1))
        self.clock.advance(2.0)
        self.assertEqual(up.attempts, 2)

    def test_without_reconnect(self) -> None:
        """
        With C{reconnect=None}, a lost connection is final: the client
        gives up at once and says so.
        """
        client = self.client(reconnect=None)
        self.endpoint.last.connected("1.2")
        events = Recorder(client, "disconnect")
        self.endpoint.last.lose()
        self.clock.advance(100)
        self.assertEqual(self.endpoint.attempts, 1)
        self.assertEqual(len(events.seen), 1)
        self.failureResultOf(client.when_connected(), NotConnected)


class ConnectBrokersTests(SynchronousTestCase):
    """
    L{stomp_twisted.connect} with several brokers.
    """

    def endpoint_of(self, client: StompClient) -> FailoverEndpoint:
        endpoint = client.factory._reconnector._endpoint
        client.disconnect()
        return endpoint

    def test_list_of_brokers(self) -> None:
        """
        A list of C{(host, port)} pairs becomes a failover list, in order.
        """
        client = stomp_twisted.connect(
            [("127.0.0.1", 1), ("127.0.0.1", 2)], reactor=MemoryReactorClock()
        )
        self.assertIn("tcp://127.0.0.1:1, tcp://127.0.0.1:2", repr(self.endpoint_of(client)))

    def test_failover_uri(self) -> None:
        """
        A failover URI gives the brokers and the reconnect policy.
        """
        client = stomp_twisted.connect(
            "failover:(tcp://127.0.0.1:1,tcp://127.0.0.1:2)?randomize=false&maxReconnectAttempts=2",
            reactor=MemoryReactorClock(),
        )
        self.assertIn("tcp://127.0.0.1:1, tcp://127.0.0.1:2", repr(self.endpoint_of(client)))
        # As in ActiveMQ, maxReconnectAttempts counts retries.
        self.assertEqual(client.factory._reconnector._policy.max_attempts, 3)  # type: ignore[union-attr]

    def test_tls_with_a_description_string(self) -> None:
        """
        TLS options cannot apply to an endpoint description string: that
        raises L{BadArgument} rather than connecting without them.
        """
        self.assertRaises(
            BadArgument,
            stomp_twisted.connect,
            "tcp:127.0.0.1:1",
            tls=stomp_twisted.TLSOptions(),
            reactor=MemoryReactorClock(),
        )

    def test_bad_brokers(self) -> None:
        """
        Anything else raises L{BadArgument} at the call.
        """
        for host in ([], [("h",)], [("h", "61613")], 42, ""):
            self.assertRaises(
                BadArgument, stomp_twisted.connect, host, reactor=MemoryReactorClock()
            )
