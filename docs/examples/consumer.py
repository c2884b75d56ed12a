"""
A consumer service: it takes orders from a queue and stores each one, the
storing being its own Deferred work.  With ack="auto" the client
acknowledges a message only once that work has succeeded, and refuses it
(NACK, so that the broker delivers it again) if it fails.

OrderConsumer is what a service would contain; test_consumer.py, next to
this file, tests it with the in-memory broker of stomp_twisted.testing.
Run as a script, the same class runs against the local RabbitMQ
(127.0.0.1:61613, guest/guest): it sends three orders, stores them, and
checks that the broker has none left.  Exits with status 1 if anything
goes differently or takes more than 10 seconds.
"""

import json
import uuid

from twisted.internet import defer, task

import stomp_twisted


class OrderConsumer:
    """
    Stores every order sent to C{destination} with C{store(order)}, which
    returns a Deferred that fires once the order is stored.
    """

    def __init__(self, client, destination, store):
        self.client = client
        self.destination = destination
        self.store = store

    def start(self):
        """
        Subscribe; the Deferred fires once the broker has confirmed it.
        """
        return self.client.subscribe(self.destination, self.on_message, ack="auto")

    def on_message(self, client, body, headers):
        order = json.loads(body)
        # The client sends ACK once this Deferred fires, NACK if it fails.
        return self.store(order)


TIMEOUT = 10


async def run(reactor):
    destination = f"/queue/stomp-twisted-docs.orders.{uuid.uuid4().hex}"
    client = stomp_twisted.connect("127.0.0.1", reactor=reactor, login="guest", passcode="guest")
    stored = []
    all_stored = defer.Deferred()

    def store(order):
        def write():  # the "work": done 0.1 s later
            stored.append(order["id"])
            print(f"stored order {order['id']}")
            if len(stored) == 3:
                all_stored.callback(None)

        return task.deferLater(reactor, 0.1, write)

    await OrderConsumer(client, destination, store).start()
    for number in (1, 2, 3):
        await client.send(json.dumps({"id": number}), destination)
    await all_stored
    await client.disconnect()  # after the last ACK is written

    # Every order was acknowledged: a new client finds the queue empty.
    checker = stomp_twisted.connect("127.0.0.1", reactor=reactor, login="guest", passcode="guest")
    arrived = defer.DeferredQueue()
    await checker.subscribe(destination, lambda client, body, headers: arrived.put(body))
    await checker.send("end", destination)
    print(f"left in the queue: {(await arrived.get()).decode()!r} (the end marker only)")
    await checker.disconnect()


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
