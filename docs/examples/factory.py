"""
The client's factory used the way Twisted factories are: handed to
reactor.connectTCP, which the factory then reconnects through, and to
Twisted's ClientService.

Needs RabbitMQ's STOMP port on 127.0.0.1:61613 (guest/guest), as
`make listen` starts it.  Exits with status 1 if anything fails or takes
more than 10 seconds.
"""

import sys
import uuid

from twisted.application.internet import ClientService
from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint

import stomp_twisted

TIMEOUT = 10


async def round_trip(client, queue):
    arrived = defer.Deferred()
    await client.subscribe(queue, lambda client, body, headers: arrived.callback(body))
    await client.send(b"hello", queue)
    return await arrived


async def main(reactor):
    # reactor.connectTCP: the factory connects through the connector, and
    # reconnects through it after a loss, as its reconnect policy says.
    factory = stomp_twisted.StompClientFactory(reactor=reactor, login="guest", passcode="guest")
    client = factory.client
    print(f"before connectTCP: {client.state.value}")
    connector = reactor.connectTCP("127.0.0.1", 61613, factory)
    await client.when_connected()
    print(f"after connectTCP: {client.state.value}")
    body = await round_trip(client, f"/queue/example-factory.{uuid.uuid4().hex[:8]}")
    print(f"connectTCP round trip: {body.decode()}")
    await client.disconnect()
    connector.disconnect()
    print(f"after disconnect(): {client.state.value}")

    # ClientService: Twisted's service connects and reconnects; the client
    # takes each connection as it comes.
    factory = stomp_twisted.StompClientFactory(
        reactor=reactor, login="guest", passcode="guest", reconnect=None
    )
    service = ClientService(TCP4ClientEndpoint(reactor, "127.0.0.1", 61613), factory)
    service.startService()
    await factory.client.when_connected()
    body = await round_trip(factory.client, f"/queue/example-factory.{uuid.uuid4().hex[:8]}")
    print(f"ClientService round trip: {body.decode()}")
    await factory.client.disconnect()
    await service.stopService()


def run(reactor):
    done = defer.ensureDeferred(main(reactor))
    return done.addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    try:
        task.react(run)
    except SystemExit as exit:
        sys.exit(exit.code)
