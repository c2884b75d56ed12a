"""
Connect to the local RabbitMQ offering different STOMP versions, then see
two connections fail: a refused login and a port where no broker listens.

Needs a STOMP broker on 127.0.0.1:61613 that accepts guest/guest (the
local RabbitMQ that `make listen` starts).  Exits with status 1 if anything
goes differently or takes more than 10 seconds.
"""

from twisted.internet import defer, task

import stomp_twisted
from stomp_twisted.failover import ReconnectPolicy

TIMEOUT = 10


async def negotiate(reactor, versions):
    client = stomp_twisted.connect(
        "127.0.0.1",
        reactor=reactor,
        versions=versions,  # sent as accept-version
        login="guest",
        passcode="guest",
    )
    await client.when_connected()
    print(f"offered {','.join(versions)}: the broker chose STOMP {client.version}")
    await client.disconnect()  # DISCONNECT, the broker's receipt, then close


async def refused_login(reactor):
    client = stomp_twisted.connect(
        "127.0.0.1",
        reactor=reactor,
        login="guest",
        passcode="not the passcode",
        reconnect=None,  # one attempt: give up at the first failure
    )
    try:
        await client.when_connected()
    except stomp_twisted.BrokerError as error:
        # At the broker's first refusal, with its reason.
        print(f"refused: {error}")
    else:
        raise SystemExit("connected with a wrong passcode")


async def nobody_listening(reactor):
    client = stomp_twisted.connect(
        "127.0.0.1",
        1,  # no broker listens on port 1
        reactor=reactor,
        reconnect=ReconnectPolicy(initial_delay=0.1, max_attempts=3),
    )
    client.reg_cb("connect_error", lambda client, message: print("connect_error"))
    try:
        await client.when_connected()
    except stomp_twisted.NotConnected as error:
        print(f"gave up: {str(error).split(';')[0]}")
    else:
        raise SystemExit("connected to port 1")


async def run(reactor):
    await negotiate(reactor, ["1.0", "1.1"])
    await negotiate(reactor, ["1.0", "1.1", "1.2"])
    await refused_login(reactor)
    await nobody_listening(reactor)


def main(reactor):
    return defer.ensureDeferred(run(reactor)).addTimeout(TIMEOUT, reactor)


if __name__ == "__main__":
    task.react(main)
