"""
The real brokers the integration tests talk to, as C{scripts/brokers}
starts them.  Loopback only.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from twisted.trial.unittest import SkipTest


@dataclass(frozen=True)
class Broker:
    name: str
    port: int
    login: str | None = None
    passcode: str | None = None
    #: The HTTP path of a STOMP-over-WebSocket endpoint; C{None} for STOMP
    #: over TCP.
    ws_path: str | None = None

    host = "127.0.0.1"

    @property
    def url(self) -> str:
        """
        The C{ws://} URL of a WebSocket endpoint, as C{connect()} and
        C{stomp-listen --host} take it.
        """
        if self.ws_path is None:
            raise ValueError(f"{self.name} is not a WebSocket endpoint")
        return f"ws://{self.host}:{self.port}{self.ws_path}"

    def connect_headers(self) -> dict[str, str]:
        headers = {}
        if self.login is not None:
            headers["login"] = self.login
        if self.passcode is not None:
            headers["passcode"] = self.passcode
        return headers


RABBITMQ = Broker("rabbitmq", 61613, "guest", "guest")
ACTIVEMQ = Broker("activemq", 61623)
#: The brokers every broker test (and the contract suite) runs against.
BROKERS = (RABBITMQ, ACTIVEMQ)
#: The same ActiveMQ through its blocking transport (C{stomp://}, where
#: L{ACTIVEMQ} is C{stomp+nio://}), which writes large frames its own way:
#: for the round-trip tests of test.test_integration.
ACTIVEMQ_BLOCKING = Broker("activemq-blocking", 61627)
#: CoilMQ, a small Python STOMP server, for the tests of how the client
#: copes with servers that bend the protocol (test.test_other_servers); not
#: in L{BROKERS}: it lacks NACK, real C{client-individual} and 1.2's C{ack}.
COILMQ = Broker("coilmq", 61633)
#: Debian's stompserver 0.9.9, STOMP 1.0 only, likewise not in L{BROKERS}.
STOMPSERVER = Broker("stompserver", 61643)
#: RabbitMQ's Web-STOMP plugin (rabbitmq_web_stomp), STOMP over WebSocket,
#: as C{scripts/brokers start rabbitmq} enables it.
RABBITMQ_WS = Broker("rabbitmq-ws", 15674, "guest", "guest", ws_path="/ws")
#: The WebSocket endpoints of the WebSocket tests (test.test_websocket_brokers).
#: ActiveMQ has none here: Debian's activemq 5.17 package lacks the module
#: of its ws:// transport (activemq-http, and the Jetty it runs on), so
#: scripts/activemq/activemq.xml declares no ws:// connector.
WS_BROKERS = (RABBITMQ_WS,)
#: The three nodes of the RabbitMQ cluster of the cluster tests
#: (test.test_cluster), as C{scripts/brokers cluster start} runs them; each
#: serves STOMP, and quorum queues.
RABBITMQ_CLUSTER = (
    Broker("rabbit1", 61651, "guest", "guest"),
    Broker("rabbit2", 61652, "guest", "guest"),
    Broker("rabbit3", 61653, "guest", "guest"),
)
#: The ActiveMQ shared-store master/slave pair of the same script: only the
#: master listens (L{require_any}).
ACTIVEMQ_PAIR = (Broker("amq1", 61661), Broker("amq2", 61662))


def require(broker: Broker) -> None:
    """
    Skip the calling test if C{broker} does not accept connections, on a
    developer's machine; in CI (C{CI} set) a missing broker is a failure.
    """
    try:
        socket.create_connection((broker.host, broker.port), timeout=2).close()
    except OSError as error:
        reason = (
            f"{broker.name} is not listening on {broker.host}:{broker.port} ({error}); "
            "start it with scripts/brokers start"
        )
        if os.environ.get("CI"):
            raise AssertionError(f"broker tests must run in CI: {reason}") from error
        raise SkipTest(reason) from error


def require_any(brokers: tuple[Broker, ...]) -> None:
    """
    Like L{require}, for a group of which one listening broker is enough
    (a master/slave pair, whose slave does not listen).
    """
    errors = []
    for broker in brokers:
        try:
            socket.create_connection((broker.host, broker.port), timeout=2).close()
            return
        except OSError as error:
            errors.append(f"{broker.name} on {broker.host}:{broker.port}: {error}")
    reason = (
        f"none is listening: {'; '.join(errors)}; start them with scripts/brokers cluster start"
    )
    if os.environ.get("CI"):
        raise AssertionError(f"broker tests must run in CI: {reason}")
    raise SkipTest(reason)


def unique_queue(stem: str) -> str:
    """
    A queue name no other test run uses.
    """
    return f"/queue/stomp-twisted-test.{stem}.{uuid.uuid4().hex[:12]}"
