"""
A poison message: its handler always fails.  Under ack="auto" the client
refuses it (NACK) after a delay that grows with each delivery, and after
max_deliveries rejects it for good and fires the "poison" event, while the
good messages around it are acknowledged as usual.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 10 seconds.  Each failure is logged to
standard error with its traceback (the rejection's one-line warning shows
too once logging is started, e.g. under twistd).
"""

import uuid
from collections import Counter

from twisted.internet import defer, task

import stomp_twisted
from stomp_twisted.redelivery import RedeliveryPolicy

TIMEOUT = 10

# Quicker than the default (0.25 s, doubling, 5 deliveries), for the example.
POLICY = RedeliveryPolicy(initial_delay=0.1, multiplier=2, max_delay=5, max_deliveries=3)


async def run(reactor):
    client = stomp_twisted.connect(
        "127.0.0.1", reactor=reactor, login="guest", passcode="guest", redelivery=POLICY
    )
    destination = f"/topic/stomp-twisted-docs.poison.{uuid.uuid4().hex}"
    deliveries = Counter()
    good_done = set()
    poisoned = defer.Deferred()

    def handle(client, body, headers):
        order = body.decode()
        deliveries[order] += 1
        if order == "order 2":
            raise ValueError(f"{order} is malformed")  # every time
        good_done.add(order)

    def on_poison(client, body, headers, failure):
        # The message, its headers and the last failure of its handler.
        print(f"poison: {body.decode()} ({failure.getErrorMessage()})")
        poisoned.callback(None)

    client.reg_cb("poison", on_poison)
    await client.subscribe(destination, handle, ack="auto")
    for order in ("order 1", "order 2", "order 3"):
        await client.send(order, destination)
    await poisoned
    await client.disconnect()
    print(f"handled: {sorted(good_done)}")
    print(f"deliveries: {dict(sorted(deliveries.items()))}")


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
