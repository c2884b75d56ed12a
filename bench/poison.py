"""
Poison messages: how many times one message whose handler always fails is
delivered in 6 s, with the default redelivery policy and with an
immediate, unlimited one (how the client behaved before it had a policy),
on the local RabbitMQ (61613) and ActiveMQ (61623; there the old client's
NACK dead-lettered the message at once: one delivery).

Run: C{.venv/bin/python -m bench.poison [--seconds 6]}.
"""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from twisted.internet import defer, task

import stomp_twisted
from stomp_twisted import RedeliveryPolicy

BROKERS = {"rabbitmq": 61613, "activemq": 61623}
IMMEDIATE = RedeliveryPolicy(initial_delay=0, max_deliveries=None)


async def _deliveries(reactor: Any, port: int, policy: RedeliveryPolicy, seconds: float) -> int:
    queue = f"/queue/bench-poison-{uuid.uuid4().hex}"
    client = stomp_twisted.connect(
        "127.0.0.1", port, login="guest", passcode="guest", reactor=reactor
    )
    await client.when_connected()
    count = 0

    def always_fails(client: Any, body: bytes, headers: dict[str, str]) -> None:
        nonlocal count
        count += 1
        raise ValueError("poison")

    await client.subscribe(queue, always_fails, ack="auto", redelivery=policy)
    await client.send(b"poison", queue, {"persistent": "true"})
    await task.deferLater(reactor, seconds, lambda: None)
    await client.disconnect()
    return count


async def _main(reactor: Any, seconds: float) -> None:
    # The handler's failures are logged with their tracebacks: keep them
    # out of the figures' way.
    from twisted.logger import globalLogBeginner

    globalLogBeginner.beginLoggingTo([lambda event: None], redirectStandardIO=False)
    print(f"deliveries of one always-failing message in {seconds:g} s")
    print(f"{'broker':<10} {'immediate, unlimited (before)':>30} {'default policy':>15}")
    for name, port in BROKERS.items():
        # ActiveMQ's NACK dead-letters at once, so before the policy its
        # poison message was delivered once; the client now redelivers
        # locally there, and an immediate unlimited policy would only
        # measure that loop.
        before = await _deliveries(reactor, port, IMMEDIATE, seconds) if name == "rabbitmq" else 1
        after = await _deliveries(reactor, port, RedeliveryPolicy(), seconds)
        print(f"{name:<10} {before:>30} {after:>15}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    task.react(lambda reactor: defer.ensureDeferred(_main(reactor, args.seconds)))


if __name__ == "__main__":
    main()
