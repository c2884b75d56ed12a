"""
A small stomp.py program ported to stomp_twisted: connect, a listener's
callbacks as observers, a subscription acknowledged by hand, sends with
receipts; then what a send written in stomp.py's argument order does.

Each step shows the stomp.py call it replaces in a comment.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 10 seconds.
"""

import uuid

from twisted.internet import defer, task

import stomp_twisted

TIMEOUT = 10


async def run(reactor):
    run_id = uuid.uuid4().hex[:8]
    orders = f"/queue/stomp-twisted-docs.from-stomppy.{run_id}"

    # conn = stomp.Connection([("127.0.0.1", 61613)])
    # conn.connect("guest", "guest", wait=True)
    client = stomp_twisted.connect(
        "127.0.0.1", 61613, login="guest", passcode="guest", reactor=reactor
    )

    # conn.set_listener("", listener): its on_error and on_disconnected
    # become observers, called in the reactor's thread.
    client.reg_cb("ERROR", lambda client, body, headers: print(f"ERROR {headers}"))
    client.reg_cb("disconnect", lambda client, reason: print(f"disconnected: {reason}"))
    await client.when_connected()
    print(f"connected with STOMP {client.version}")

    # listener.on_message(frame) for one subscription, acknowledged by hand.
    received = defer.DeferredQueue()

    def on_message(client, body, headers):
        received.put((body, headers))

    # conn.subscribe(orders, id=1, ack="client-individual")
    await client.subscribe(orders, on_message, ack="manual")

    for number in (1, 2):
        # conn.send(orders, f"order {number}"): the body comes first here,
        # so name both arguments when porting.
        receipt = await client.send(body=f"order {number}", destination=orders)
        print(f"order {number} sent: the broker confirmed it ({receipt.command})")

    for _ in (1, 2):
        body, headers = await received.get()
        # conn.ack(frame.headers["message-id"], frame.headers["subscription"])
        # (STOMP 1.1), or conn.ack(frame.headers["ack"]) (1.2): here the
        # headers say it all, in every version.
        await client.ack(headers)
        print(f"acknowledged {body.decode()}")

    # The same send in stomp.py's order: the destination becomes the body
    # and the body the destination.  The broker confirms it all the same.
    stray = f"stomp-twisted-docs.stray-{run_id}"
    receipt = await client.send(orders, stray)  # conn.send(orders, stray) in stomp.py
    print(f"swapped send: the broker confirmed it too ({receipt.command})")

    # Where it went: a queue named after what was meant as the body.
    strays = defer.DeferredQueue()
    await client.subscribe(stray, lambda client, body, headers: strays.put((body, headers)))
    body, headers = await strays.get()
    print(f"it landed in {headers['destination']}, with the body {body.decode()!r}")

    await client.disconnect()  # conn.disconnect()


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
