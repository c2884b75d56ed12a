"""
stomp_twisted inside an asyncio application: asyncio.run() drives
everything, and Twisted's asyncio reactor is installed on its running
loop.  The program connects to the local RabbitMQ by host name
("localhost", guest/guest), subscribes with an async handler, sends three
messages waiting for each receipt, waits until the handler has seen them
all, disconnects and returns: the process then exits by itself.  Exits
with status 1 if anything goes differently or takes more than 10 seconds.
"""

import asyncio
import sys
import uuid

TIMEOUT = 10


def as_future(deferred):
    """
    A Deferred as an asyncio future, to await in asyncio code.
    """
    return deferred.asFuture(asyncio.get_running_loop())


def as_deferred(coroutine):
    """
    An asyncio coroutine as a Deferred, for stomp_twisted to wait on.
    """
    from twisted.internet.defer import Deferred

    return Deferred.fromFuture(asyncio.ensure_future(coroutine))


async def application():
    # First thing, before anything imports twisted.internet.reactor: the
    # asyncio reactor, on the loop asyncio.run() is running.
    from twisted.internet import asyncioreactor

    asyncioreactor.install(asyncio.get_running_loop())
    from twisted.internet import reactor

    import stomp_twisted

    destination = f"/queue/stomp-twisted-docs.asyncio.{uuid.uuid4().hex}"
    client = stomp_twisted.connect(
        "localhost",
        61613,
        reactor=reactor,
        login="guest",
        passcode="guest",
        connect_timeout=5,
    )
    await as_future(client.when_connected())
    print(f"connected to {client.broker} (STOMP {client.version})")

    handled = []
    all_handled = asyncio.Event()

    async def handle(body):
        await asyncio.sleep(0.05)  # asyncio work: a database, an HTTP call
        print(f"handled {body.decode()!r}")

    def done(_, body):
        # Runs as the handler's Deferred fires, just before the client
        # writes its ACK: all_handled wakes the application after that.
        handled.append(body)
        if len(handled) == 3:
            all_handled.set()

    def on_message(client, body, headers):
        # Returning a Deferred makes ack="auto" wait for the coroutine:
        # ACK once it returns, NACK (and a redelivery) if it raises.
        return as_deferred(handle(body)).addCallback(done, body)

    await as_future(client.subscribe(destination, on_message, ack="auto"))
    for number in (1, 2, 3):
        receipt = await as_future(client.send(f"message {number}", destination))
        print(f"sent 'message {number}', receipt {receipt.headers['receipt-id']}")
    await all_handled.wait()
    await as_future(client.disconnect())
    print("disconnected")


async def main():
    try:
        await asyncio.wait_for(application(), TIMEOUT)
    except asyncio.TimeoutError:
        print(f"not done within {TIMEOUT} s", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
    print("asyncio.run() returned")
