"""
Transactions: one aborted, one committed, and one that dies with its
connection (a deliberate ERROR from the broker closes it; the client
reconnects and re-subscribes by itself).

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 10 seconds.
"""

import uuid

from twisted.internet import defer, task

import stomp_twisted

TIMEOUT = 10


async def run(reactor):
    client = stomp_twisted.connect("127.0.0.1", reactor=reactor, login="guest", passcode="guest")
    destination = f"/topic/stomp-twisted-docs.payments.{uuid.uuid4().hex}"
    received = defer.DeferredQueue()
    await client.subscribe(destination, lambda client, body, headers: received.put(body))

    # Aborted: the broker forgets the transaction's frames.
    tx = await client.begin()
    client.send("refund 1", destination, transaction=tx, receipt=False)
    await client.abort(tx)
    print(f"{tx.id}: {tx.state}")

    # Committed: the broker acts on them now, in order.
    tx = await client.begin()
    for n in (1, 2):
        client.send(f"payment {n}", destination, transaction=tx, receipt=False)
    await client.commit(tx)
    print(f"{tx.id}: {tx.state}")
    for _ in range(2):
        print(f"received {(await received.get()).decode()}")

    # Lost with its connection: the broker rolls it back.
    tx = await client.begin()
    client.send("payment 3", destination, transaction=tx, receipt=False)
    try:
        await client.send("oops", "/no-such-kind-of/destination")
    except (stomp_twisted.BrokerError, stomp_twisted.ConnectionLost) as error:
        print(f"the broker closed the connection: {type(error).__name__}")
    await client.when_connected()  # reconnected, and re-subscribed
    try:
        await client.commit(tx)
    except stomp_twisted.ConnectionLost:
        print(f"{tx.id}: began on a connection that is gone")

    await client.send("payment 4", destination)
    print(f"received {(await received.get()).decode()}")
    await client.disconnect()


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
