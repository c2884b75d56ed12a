"""
L{stomp_twisted._brokers.brokers_from}: one reading of a host, its port,
C{ssl} and C{tls}, for L{stomp_twisted.connect} and the command-line
tools alike.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from stomp_twisted import BadArgument, BrokerAddress, ReconnectPolicy, TLSOptions
from stomp_twisted._brokers import brokers_from
from stomp_twisted.arguments import check_port
from stomp_twisted.failover import (
    DEFAULT_PORT,
    DEFAULT_RECONNECT,
    DEFAULT_TLS_PORT,
    default_port,
    parse_broker_uri,
)
from stomp_twisted.send import Options

from .fakes import FakeEndpoint


class DefaultPortTests(SynchronousTestCase):
    """
    The default ports are written once, and every reader of a broker's
    name takes them from there.
    """

    def test_defaults(self) -> None:
        """
        61613, or 61612 over TLS: for a host name, a C{(host, 0)} pair of
        a list, and a broker URI without a port.
        """
        self.assertEqual((DEFAULT_PORT, DEFAULT_TLS_PORT), (61613, 61612))
        for ssl in (False, True):
            expected = default_port(ssl)
            self.assertEqual(check_port(None, ssl), expected)
            self.assertEqual(check_port(0, ssl), expected)
            self.assertEqual(brokers_from("h", ssl=ssl).brokers[0].port, expected)  # type: ignore[union-attr]
            self.assertEqual(brokers_from([("h", 0)], ssl=ssl).brokers[0].port, expected)  # type: ignore[union-attr]
        self.assertEqual(parse_broker_uri("tcp://h").port, DEFAULT_PORT)
        self.assertEqual(parse_broker_uri("ssl://h").port, DEFAULT_TLS_PORT)


class BrokersFromTests(SynchronousTestCase):
    """
    What each kind of host names.
    """

    def test_host_name(self) -> None:
        """
        A host name is one broker, at C{port}, over TLS with C{ssl} or
        C{tls}; the default reconnect policy applies.
        """
        named = brokers_from("broker", 1234)
        self.assertEqual(named.brokers, (BrokerAddress("broker", 1234),))
        self.assertEqual(named.endpoints, ())
        self.assertIs(named.reconnect, DEFAULT_RECONNECT)
        named = brokers_from("broker", tls=TLSOptions())
        self.assertEqual(named.brokers, (BrokerAddress("broker", DEFAULT_TLS_PORT, True),))

    def test_failover_uri(self) -> None:
        """
        A failover URI gives its brokers and its reconnect policy; with
        C{maxReconnectAttempts=0}, none.
        """
        named = brokers_from("failover:(tcp://a:1,ssl://b:2)?randomize=false")
        self.assertEqual(named.brokers, (BrokerAddress("a", 1), BrokerAddress("b", 2, True)))
        self.assertEqual(named.reconnect, ReconnectPolicy())
        self.assertIsNone(brokers_from("failover:(tcp://a:1)?maxReconnectAttempts=0").reconnect)

    def test_list(self) -> None:
        """
        A list holds pairs, addresses and URIs; C{ssl} applies to the
        pairs only.
        """
        named = brokers_from([("a", 1), BrokerAddress("b", 2), "ws://c:3/ws"], ssl=True)
        self.assertEqual(
            named.brokers,
            (
                BrokerAddress("a", 1, True),
                BrokerAddress("b", 2),
                BrokerAddress("c", 3, False, "/ws"),
            ),
        )
        self.assertTrue(named.websocket)

    def test_description_and_endpoints(self) -> None:
        """
        A description string is kept as it is; endpoint objects are
        given back as endpoints.
        """
        self.assertEqual(brokers_from("unix:path=/s").brokers, ("unix:path=/s",))
        endpoint = FakeEndpoint()
        self.assertEqual(brokers_from(endpoint).endpoints, (endpoint,))
        self.assertEqual(brokers_from([endpoint, endpoint]).endpoints, (endpoint, endpoint))

    def test_refused(self) -> None:
        """
        A port with anything but a host name, TLS with endpoints or a
        description string, a bad URI, a mixed list or a host of the
        wrong type raise L{BadArgument}.
        """
        endpoint = FakeEndpoint()
        for host, extra in [
            ("failover:(tcp://a:1)", {"port": 2}),
            ("tcp:host=a:port=1", {"port": 2}),
            ("tcp:host=a:port=1", {"tls": TLSOptions()}),
            ([("a", 1)], {"port": 2}),
            (endpoint, {"port": 2}),
            (endpoint, {"ssl": True}),
            ([endpoint, ("a", 1)], {}),
            ("failover:(http://a:1)", {}),
            ("a b", {}),
            (42, {}),
            ([], {}),
            ("a", {"ssl": "yes"}),
            ("a", {"tls": "yes"}),
        ]:
            with self.assertRaises(BadArgument, msg=repr((host, extra))):
                brokers_from(host, **extra)  # type: ignore[arg-type]


class CommandLineTests(SynchronousTestCase):
    """
    The command-line tools name their brokers through L{brokers_from}.
    """

    def parse(self, *argv: str) -> Options:
        options = Options()
        options.parseOptions(["-d", "/queue/q", *argv])  # type: ignore[no-untyped-call]
        return options

    def test_same_brokers_as_connect(self) -> None:
        """
        The brokers the options name are those L{brokers_from} reads from
        the arguments they give L{stomp_twisted.connect}.
        """
        for argv in [
            (),
            ("--host", "broker", "--port", "1234"),
            ("--host", "broker", "--ssl"),
            ("--host", "failover:(tcp://a:1,ssl://b:2)?maxReconnectAttempts=3"),
            ("--endpoint", "tcp:host=a:port=1"),
        ]:
            options = self.parse(*argv)
            arguments = options.connect_arguments()
            expected = brokers_from(
                arguments["host"],
                arguments.get("port"),
                arguments.get("ssl", False),
                arguments.get("tls"),
            )
            self.assertEqual(options["brokers"], expected, argv)
