"""
Failover between brokers: a list whose first broker is down, the same as an
ActiveMQ-style failover URI, and a client that moves from RabbitMQ to
ActiveMQ when RabbitMQ goes away (here a small proxy in this script, which
stands in for RabbitMQ, stops listening and cuts its connection).

Needs RabbitMQ's STOMP on 127.0.0.1:61613 (guest/guest) and ActiveMQ's on
127.0.0.1:61623, as `scripts/brokers start` runs them.  Exits with status 1
if anything goes differently or takes more than 10 seconds.
"""

import socket
import uuid

from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.protocols import portforward

import stomp_twisted
from stomp_twisted import ReconnectPolicy

TIMEOUT = 10
RABBITMQ = ("127.0.0.1", 61613)
ACTIVEMQ = ("127.0.0.1", 61623)


def connect(reactor, brokers, **options):
    client = stomp_twisted.connect(
        brokers, reactor=reactor, login="guest", passcode="guest", **options
    )
    client.reg_cb("connect_error", lambda client, message: print(f"connect_error: {message}"))
    return client


def server(client):
    # The broker's CONNECTED frame names it.
    return client.connected_frame.headers["server"]


async def from_a_list(reactor, dead_port):
    client = connect(
        reactor,
        [("127.0.0.1", dead_port), RABBITMQ],
        reconnect=ReconnectPolicy(initial_delay=0.05, max_attempts=4),
    )
    await client.when_connected()
    print(f"list: connected to {server(client)}")
    await client.disconnect()


async def from_a_uri(reactor, dead_port):
    client = connect(
        reactor,
        f"failover:(tcp://127.0.0.1:{dead_port},tcp://127.0.0.1:{ACTIVEMQ[1]})"
        "?randomize=false&initialReconnectDelay=50&maxReconnectAttempts=4",
    )
    await client.when_connected()
    print(f"URI: connected to {server(client)}")
    await client.disconnect()


class Proxy(portforward.ProxyFactory):
    """
    Relays each connection to RabbitMQ, and can cut them all.
    """

    def __init__(self):
        super().__init__(*RABBITMQ)
        self.relays = []

    def buildProtocol(self, addr):
        relay = super().buildProtocol(addr)
        self.relays.append(relay)
        return relay

    def cut(self):
        for relay in self.relays:
            relay.transport.abortConnection()


async def after_a_loss(reactor):
    proxy = Proxy()
    listening = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(proxy)
    client = connect(
        reactor,
        [("127.0.0.1", listening.getHost().port), ACTIVEMQ],
        reconnect=ReconnectPolicy(initial_delay=0.05),
    )
    destination = f"/topic/stomp-twisted-docs.failover.{uuid.uuid4().hex}"
    received = defer.DeferredQueue()
    await client.subscribe(destination, lambda client, body, headers: received.put(body))
    print(f"loss: connected to {server(client)}")

    # "RabbitMQ" goes away: the next attempt goes to the next broker.
    lost = defer.Deferred()
    handle = client.reg_cb("disconnect", lambda client, reason: lost.callback(reason))
    await listening.stopListening()
    proxy.cut()
    print(f"disconnect: {await lost}")
    client.unreg_cb(handle)
    await client.when_connected()
    print(f"loss: connected to {server(client)}, subscribed again: {client.subscriptions[0].id}")
    await client.send("hello again", destination)
    print(f"received {(await received.get()).decode()!r} from {server(client)}")
    await client.disconnect()


async def run(reactor):
    # A port that is taken but where nothing listens: every attempt is refused.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        dead_port = taken.getsockname()[1]
        await from_a_list(reactor, dead_port)
        await from_a_uri(reactor, dead_port)
    await after_a_loss(reactor)


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
