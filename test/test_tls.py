"""
STOMP over TLS, for real: the local ActiveMQ's C{stomp+nio+ssl}
connectors (61624; 61625 requires a client certificate) with the
throwaway test PKI that C{scripts/brokers} generates in C{.brokers/tls/}
(nothing is committed, so nothing here expires).  Each refusal must reach
the caller as L{NotConnected} with a message that says what went wrong.

Also, with no broker: L{TLSOptions}' argument errors, and TLS to peers
that do not speak it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import LogEvent, LogLevel, formatEvent, globalLogPublisher
from twisted.trial.unittest import SkipTest, TestCase

import stomp_twisted
from stomp_twisted import BadArgument, NotConnected, StompClient
from stomp_twisted.endpoints import TLSOptions, client_endpoint

from .brokers import Broker, require, unique_queue
from .pki import self_signed

#: The bound on every wait for something that should happen.
TIMEOUT = 15.0

TLS_DIR = Path(__file__).resolve().parent.parent / ".brokers" / "tls"
CA = str(TLS_DIR / "ca.pem")
OTHER_CA = str(TLS_DIR / "other-ca.pem")
CLIENT_CERT = str(TLS_DIR / "client.pem")
CLIENT_KEY = str(TLS_DIR / "client.key")

#: ActiveMQ's TLS connectors, as scripts/brokers configures them.  Their
#: certificate is for DNS:localhost and IP:127.0.0.1, signed by CA.
ACTIVEMQ_TLS = Broker("activemq (stomp+ssl)", 61624)
ACTIVEMQ_CLIENT_AUTH = Broker("activemq (stomp+ssl, client certificate required)", 61625)


def require_tls(broker: Broker) -> None:
    """
    Like L{require}, and the test PKI must be there too.
    """
    require(broker)
    missing = [f for f in (CA, OTHER_CA, CLIENT_CERT, CLIENT_KEY) if not os.path.exists(f)]
    if missing:
        reason = f"{broker.name} is up but the test PKI is missing ({', '.join(missing)})"
        reason += "; make it with scripts/brokers start activemq"
        if os.environ.get("CI"):
            raise AssertionError(reason)
        raise SkipTest(reason)


class TLSBrokerTests(TestCase):
    """
    C{connect(..., ssl=True, tls=TLSOptions(...))} against ActiveMQ.
    """

    def setUp(self) -> None:
        require_tls(ACTIVEMQ_TLS)

    def client(
        self, broker: Broker = ACTIVEMQ_TLS, host: str = "localhost", tls: TLSOptions | None = None
    ) -> StompClient:
        client = stomp_twisted.connect(
            host,
            broker.port,
            ssl=True,
            tls=tls,
            reactor=reactor,
            reconnect=None,
            connect_timeout=TIMEOUT,
            receipt_timeout=TIMEOUT,
        )
        self.addCleanup(client.disconnect)
        return client

    @inlineCallbacks
    def round_trip(self, client: StompClient) -> Any:
        """
        Connect, then send a message to a new queue and receive it back.
        """
        yield client.when_connected().addTimeout(TIMEOUT, reactor)
        queue = unique_queue("tls")
        received: Deferred[bytes] = Deferred()

        def on_message(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
            if not received.called:
                received.callback(body)

        yield client.subscribe(queue, on_message).addTimeout(TIMEOUT, reactor)
        yield client.send("over TLS \u2603", queue).addTimeout(TIMEOUT, reactor)
        body = yield received.addTimeout(TIMEOUT, reactor)
        self.assertEqual(body.decode("utf-8"), "over TLS \u2603")

    @inlineCallbacks
    def refusal(self, client: StompClient) -> Any:
        """
        The client gives up with L{NotConnected}; its message.
        """
        waiting = client.when_connected().addTimeout(TIMEOUT, reactor)
        error = yield self.assertFailure(waiting, NotConnected)
        return str(error)

    @inlineCallbacks
    def test_verified(self) -> Any:
        """
        With the test CA as C{ca_file}, the certificate is verified for
        C{localhost}, and messages go both ways.
        """
        yield self.round_trip(self.client(tls=TLSOptions(ca_file=CA)))

    @inlineCallbacks
    def test_verified_ip_address(self) -> Any:
        """
        A host given as an IP address is verified against the
        certificate's IP address names.
        """
        client = self.client(host="127.0.0.1", tls=TLSOptions(ca_file=CA))
        yield client.when_connected().addTimeout(TIMEOUT, reactor)

    @inlineCallbacks
    def test_platform_trust_refuses_private_ca(self) -> Any:
        """
        C{ssl=True} alone verifies against the platform's CAs, which do
        not include the test CA: refused, and the message says to pass
        C{ca_file}.
        """
        message = yield self.refusal(self.client(tls=None))
        self.assertIn("TLS to localhost:61624 failed: certificate verification failed", message)
        self.assertIn("CN=stomp_twisted test CA", message)
        self.assertIn("TLSOptions(ca_file=...)", message)

    @inlineCallbacks
    def test_wrong_name_refused(self) -> Any:
        """
        A certificate signed by a trusted CA but not for the name
        verified is refused, naming both.
        """
        tls = TLSOptions(ca_file=CA, server_name="wrong.example")
        message = yield self.refusal(self.client(tls=tls))
        self.assertIn("host name verification failed", message)
        self.assertIn("'wrong.example'", message)
        self.assertIn("localhost, 127.0.0.1", message)
        self.assertIn("server_name", message)

    @inlineCallbacks
    def test_untrusted_ca_refused(self) -> Any:
        """
        A C{ca_file} of some other CA does not make the broker trusted.
        """
        message = yield self.refusal(self.client(tls=TLSOptions(ca_file=OTHER_CA)))
        self.assertIn("certificate verification failed", message)
        self.assertIn(f"no CA in {OTHER_CA} signed it", message)

    @inlineCallbacks
    def test_client_certificate_required(self) -> Any:
        """
        A broker that requires a client certificate refuses a client
        without one, saying so, and accepts one with C{cert_file} and
        C{key_file}.
        """
        require_tls(ACTIVEMQ_CLIENT_AUTH)
        message = yield self.refusal(self.client(ACTIVEMQ_CLIENT_AUTH, tls=TLSOptions(ca_file=CA)))
        self.assertIn("TLS to localhost:61625 failed", message)
        self.assertIn("asks for a client certificate issued by CN=stomp_twisted test CA", message)
        self.assertIn("TLSOptions(cert_file=..., key_file=...)", message)

        tls = TLSOptions(ca_file=CA, cert_file=CLIENT_CERT, key_file=CLIENT_KEY)
        yield self.round_trip(self.client(ACTIVEMQ_CLIENT_AUTH, tls=tls))

    @inlineCallbacks
    def test_client_certificate_refused(self) -> Any:
        """
        A client certificate the broker does not trust is refused.
        """
        require_tls(ACTIVEMQ_CLIENT_AUTH)
        other_key = str(TLS_DIR / "other-ca.key")
        tls = TLSOptions(ca_file=CA, cert_file=OTHER_CA, key_file=other_key)
        message = yield self.refusal(self.client(ACTIVEMQ_CLIENT_AUTH, tls=tls))
        self.assertIn("asks for a client certificate", message)
        self.assertIn(f"refusing {OTHER_CA}", message)

    @inlineCallbacks
    def test_unverified_warns(self) -> Any:
        """
        C{verify=False} connects without any CA, and logs a warning that
        the connection is not verified.
        """
        events: list[LogEvent] = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        yield self.round_trip(self.client(tls=TLSOptions(verify=False)))
        warnings = [
            formatEvent(event)
            for event in events
            if event.get("log_level") == LogLevel.warn
            and "TLS to localhost is NOT verified" in formatEvent(event)
        ]
        self.assertEqual(len(warnings), 1, warnings)  # one connection, one warning
        self.assertIn("verify=False", warnings[0])
        self.assertIn("development only", warnings[0])


class TLSOptionsTests(TestCase):
    """
    Bad TLS settings fail at once, with L{BadArgument} naming the file.
    """

    def setUp(self) -> None:
        self.dir = self.mktemp()
        os.makedirs(self.dir)
        self.cert, self.key = self_signed(self.dir, "one")
        self.other_cert, self.other_key = self_signed(self.dir, "two")
        self.missing = os.path.join(self.dir, "missing.pem")

    def assertBad(self, tls: TLSOptions, *fragments: str) -> None:
        error = self.assertRaises(BadArgument, tls.creator, "localhost")
        for fragment in fragments:
            self.assertIn(fragment, str(error))

    def test_missing_ca_file(self) -> None:
        self.assertBad(
            TLSOptions(ca_file=self.missing), f"cannot read CA file {self.missing}", "No such file"
        )

    def test_ca_file_without_certificate(self) -> None:
        self.assertBad(TLSOptions(ca_file=self.key), f"CA file {self.key}", "no PEM certificate")

    def test_missing_cert_file(self) -> None:
        self.assertBad(
            TLSOptions(cert_file=self.missing, key_file=self.key),
            f"cannot read client certificate {self.missing}",
        )

    def test_missing_key_file(self) -> None:
        self.assertBad(
            TLSOptions(cert_file=self.cert, key_file=self.missing),
            f"cannot read client key {self.missing}",
        )

    def test_cert_file_without_key(self) -> None:
        """
        Without C{key_file} the key must be in C{cert_file}.
        """
        self.assertBad(TLSOptions(cert_file=self.cert), f"no PEM private key in {self.cert}")
        both = os.path.join(self.dir, "both.pem")
        with open(both, "wb") as file:
            file.write(Path(self.cert).read_bytes() + Path(self.key).read_bytes())
        TLSOptions(cert_file=both).creator("localhost")

    def test_key_of_another_certificate(self) -> None:
        self.assertBad(
            TLSOptions(cert_file=self.cert, key_file=self.other_key),
            self.cert,
            self.other_key,
            "do not match",
        )

    def test_key_file_without_cert_file(self) -> None:
        self.assertRaises(BadArgument, TLSOptions, key_file=self.key)

    def test_not_a_path(self) -> None:
        self.assertRaises(BadArgument, TLSOptions, ca_file="")
        self.assertRaises(BadArgument, TLSOptions, ca_file=b"/etc/ssl/ca.pem")
        self.assertRaises(BadArgument, TLSOptions, verify="no")

    def test_path_objects(self) -> None:
        """
        Files may be given as L{Path}s.
        """
        tls = TLSOptions(
            ca_file=Path(self.cert), cert_file=Path(self.cert), key_file=Path(self.key)
        )
        self.assertEqual(
            (tls.ca_file, tls.cert_file, tls.key_file), (self.cert, self.cert, self.key)
        )
        tls.creator("localhost")

    def test_connect_fails_at_once(self) -> None:
        """
        L{stomp_twisted.connect} raises before connecting anywhere.
        """
        error = self.assertRaises(
            BadArgument,
            stomp_twisted.connect,
            "localhost",
            61624,
            ssl=True,
            tls=TLSOptions(ca_file=self.missing),
            reactor=reactor,
            reconnect=None,
        )
        self.assertIn(self.missing, str(error))

    def test_endpoint(self) -> None:
        self.assertRaises(
            BadArgument,
            client_endpoint,
            reactor,
            "localhost",
            61624,
            ssl=True,
            tls=TLSOptions(ca_file=self.missing),
        )


class _Silent(Protocol):
    pass


class _Plaintext(Protocol):
    reply = b"CONNECTED\nversion:1.2\n\n\0"

    def connectionMade(self) -> None:
        self.transport.write(self.reply)


class _PlaintextError(_Plaintext):
    reply = b"ERROR\nmessage:what is this?\n\n\0"


class NotTLSTests(TestCase):
    """
    TLS to local servers that do not speak it: the client gives up
    promptly, saying why.
    """

    def serve(self, protocol: type[Protocol]) -> int:
        port = reactor.listenTCP(0, Factory.forProtocol(protocol), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return int(port.getHost().port)

    def client(self, port: int, connect_timeout: float) -> StompClient:
        client = stomp_twisted.connect(
            "127.0.0.1",
            port,
            ssl=True,
            tls=TLSOptions(verify=False),
            reactor=reactor,
            reconnect=None,
            connect_timeout=connect_timeout,
        )
        self.addCleanup(client.disconnect)
        return client

    @inlineCallbacks
    def test_silent_peer(self) -> Any:
        """
        A peer that never answers the TLS handshake does not keep the
        client past C{connect_timeout}.
        """
        client = self.client(self.serve(_Silent), connect_timeout=0.5)
        waiting = client.when_connected().addTimeout(TIMEOUT, reactor)
        error = yield self.assertFailure(waiting, NotConnected)
        self.assertIn("no CONNECTED within 0.5 s", str(error))

    @inlineCallbacks
    def test_plaintext_peer(self) -> Any:
        """
        A peer that answers in plain text is not a TLS port.
        """
        for server in (_Plaintext, _PlaintextError):
            client = self.client(self.serve(server), connect_timeout=TIMEOUT)
            waiting = client.when_connected().addTimeout(TIMEOUT, reactor)
            error = yield self.assertFailure(waiting, NotConnected)
            self.assertIn("TLS to 127.0.0.1:", str(error))
            self.assertIn("did not answer in TLS", str(error))
