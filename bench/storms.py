"""
Reconnect storms: how many sessions, and how many bytes, a client makes in
10 s against a broker that ends every session right after it begins.

Two brokers, each a few lines of Twisted on loopback:

- C{close}: answers CONNECT with CONNECTED, then closes the connection;
- C{refuse-subscribe}: answers SUBSCRIBE with ERROR ("access refused") and
  closes, as RabbitMQ does for a destination the user may not read; the
  client also has 1,000 messages of 10 KB in its outbox.

Each runs twice in the same process: with the default policy, and with
C{stable_after=0}, which is how the client behaved before a short session
counted as a failure (back-off reset at every CONNECTED).

Run: C{.venv/bin/python -m bench.storms [--seconds 10]}.
"""

from __future__ import annotations

import argparse
from typing import Any

from twisted.internet import defer, task
from twisted.internet.protocol import Factory, Protocol

import stomp_twisted
from stomp_twisted.frame import Frame, FrameDecoder, NeedData, serialize_frame


class _Broker(Protocol):
    def __init__(self, counts: dict[str, int], refuse_subscribe: bool) -> None:
        self._counts = counts
        self._refuse_subscribe = refuse_subscribe
        self._decoder = FrameDecoder("1.2")

    def connectionMade(self) -> None:
        self._counts["sessions"] += 1

    def dataReceived(self, data: bytes) -> None:
        self._counts["bytes"] += len(data)
        self._decoder.receive_data(data)
        while True:
            event = self._decoder.next_event()
            if isinstance(event, NeedData):
                return
            if not isinstance(event, Frame):
                continue
            if event.command == "CONNECT":
                reply = Frame("CONNECTED", {"version": "1.2"})
                self.transport.write(serialize_frame(reply, "1.0"))  # type: ignore[union-attr]
                if not self._refuse_subscribe:
                    self.transport.loseConnection()  # type: ignore[union-attr]
                    return
            elif event.command == "SUBSCRIBE":
                error = Frame("ERROR", {"message": "access refused"})
                self.transport.write(serialize_frame(error, "1.2"))  # type: ignore[union-attr]
                self.transport.loseConnection()  # type: ignore[union-attr]
                return
            elif "receipt" in event.headers:
                receipt = Frame("RECEIPT", {"receipt-id": event.headers["receipt"]})
                self.transport.write(serialize_frame(receipt, "1.2"))  # type: ignore[union-attr]


async def _measure(
    reactor: Any, seconds: float, refuse_subscribe: bool, stable_after: float
) -> dict[str, int]:
    counts = {"sessions": 0, "bytes": 0}
    factory = Factory.forProtocol(lambda: _Broker(counts, refuse_subscribe))
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    options: dict[str, Any] = {
        "reconnect": stomp_twisted.ReconnectPolicy(stable_after=stable_after),
    }
    if refuse_subscribe:
        options["destination"] = "/queue/forbidden"
        options["outbox"] = stomp_twisted.OutboxPolicy(max_losses=10**9)
    client = stomp_twisted.connect("127.0.0.1", port.getHost().port, reactor=reactor, **options)
    if refuse_subscribe:
        for _ in range(1000):
            client.send(b"x" * 10_000, "/queue/out").addErrback(lambda _: None)
    await task.deferLater(reactor, seconds, lambda: None)
    await client.disconnect()
    await port.stopListening()
    return counts


async def _main(reactor: Any, seconds: float) -> None:
    print(f"sessions and bytes received by the broker in {seconds:g} s")
    print(f"{'broker':<18} {'policy':<28} {'sessions':>9} {'MB':>9}")
    for name, refuse in (("close", False), ("refuse-subscribe", True)):
        for label, stable_after in (("stable_after=0 (before)", 0.0), ("default (after)", 10.0)):
            counts = await _measure(reactor, seconds, refuse, stable_after)
            print(f"{name:<18} {label:<28} {counts['sessions']:>9} {counts['bytes'] / 1e6:>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    task.react(lambda reactor: defer.ensureDeferred(_main(reactor, args.seconds)))


if __name__ == "__main__":
    main()
