"""
Reconnection: a client that gives up after three failed attempts, then two
clients whose connections are cut (by a small proxy in this script,
standing in for a network failure) and that reconnect by themselves.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 10 seconds.
"""

import socket
import uuid

from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.protocols import portforward

import stomp_twisted
from stomp_twisted import OutboxPolicy, ReconnectPolicy

TIMEOUT = 10
BROKER = ("127.0.0.1", 61613)
QUICK = ReconnectPolicy(initial_delay=0.05)  # retry soon, and for ever


async def giving_up(reactor):
    # A port that is taken but where nothing listens: each attempt is refused.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        client = stomp_twisted.connect(
            "127.0.0.1",
            port,
            reactor=reactor,
            reconnect=ReconnectPolicy(initial_delay=0.05, max_attempts=3),
        )
        client.reg_cb("connect_error", lambda client, message: print(f"connect_error: {message}"))
        client.reg_cb("disconnect", lambda client, reason: print(f"disconnect: {reason}"))
        try:
            await client.when_connected()
        except stomp_twisted.NotConnected as error:
            print(f"when_connected failed: {error}")
        else:
            raise SystemExit(f"connected to port {port}, where nothing listens")


class Proxy(portforward.ProxyFactory):
    """
    Relays each connection to the broker, and can cut them all.
    """

    def __init__(self):
        super().__init__(*BROKER)
        self.relays = []

    def buildProtocol(self, addr):
        relay = super().buildProtocol(addr)
        self.relays.append(relay)
        return relay

    def cut(self):
        # Abruptly, as a network failure would: no DISCONNECT, no receipt.
        for relay in self.relays:
            relay.transport.abortConnection()
        self.relays.clear()


async def reconnecting(reactor, proxy, port):
    client = stomp_twisted.connect(
        "127.0.0.1", port, reactor=reactor, login="guest", passcode="guest", reconnect=QUICK
    )
    destination = f"/topic/stomp-twisted-docs.reconnect.{uuid.uuid4().hex}"
    received = defer.DeferredQueue()
    await client.subscribe(
        destination, lambda client, body, headers: received.put((body, headers)), ack="manual"
    )
    await client.send("before the cut", destination)
    body, first = await received.get()
    print(f"received {body.decode()!r} through {first['subscription']}")

    # From now on, show the events of the next connection.
    for event in ("prepare", "connect"):
        client.reg_cb(event, lambda client, *args, event=event: print(f"event: {event}"))
    client.reg_cb("io_error", lambda client, message: print(f"event: io_error: {message}"))

    def on_disconnect(client, reason):
        print(f"event: disconnect: {reason}")
        client.unreg_cb(handle)  # once is enough
        # Without an outbox, nothing is queued while disconnected.
        client.send("while disconnected", destination).addErrback(
            lambda failure: print(f"send while disconnected: {failure.type.__name__}")
        )

    handle = client.reg_cb("disconnect", on_disconnect)

    in_flight = client.send("in flight", destination)  # waits for its receipt
    proxy.cut()
    try:
        await in_flight
    except stomp_twisted.ConnectionLost:
        print("the receipt of 'in flight' failed: ConnectionLost")

    await client.when_connected()  # reconnected, and subscribed again
    print(f"reconnected, subscribed again: {[(s.id, s.ack) for s in client.subscriptions]}")
    try:
        client.ack(first)  # it came through the connection that was cut
    except stomp_twisted.AckError:
        print("ack of 'before the cut': AckError")
    await client.send("after the cut", destination)
    body, headers = await received.get()
    print(f"received {body.decode()!r} through {headers['subscription']}")
    await client.ack(headers)
    await client.disconnect()


async def with_outbox(reactor, proxy, port):
    client = stomp_twisted.connect(
        "127.0.0.1",
        port,
        reactor=reactor,
        login="guest",
        passcode="guest",
        reconnect=QUICK,
        outbox=OutboxPolicy(),  # keep each message until its receipt arrives
    )
    destination = f"/topic/stomp-twisted-docs.outbox.{uuid.uuid4().hex}"
    received = defer.DeferredQueue()
    await client.subscribe(destination, lambda client, body, headers: received.put(body))
    kept = client.send("kept across the cut", destination)
    proxy.cut()
    await kept  # sent again on the next connection, and confirmed there
    print("outbox: the receipt of 'kept across the cut' came on the next connection")
    print(f"received {(await received.get()).decode()!r}")
    await client.disconnect()


async def run(reactor):
    await giving_up(reactor)
    proxy = Proxy()
    listening = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(proxy)
    port = listening.getHost().port
    try:
        await reconnecting(reactor, proxy, port)
        await with_outbox(reactor, proxy, port)
    finally:
        await listening.stopListening()


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
