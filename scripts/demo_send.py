"""
Send a few messages to a destination with stomp_twisted, waiting for each
receipt: the other half of the README's quick start.

    python scripts/demo_send.py [--port 61613] [--destination /queue/demo] [--count 3]
"""

from __future__ import annotations

import argparse
from typing import Any

from twisted.internet import task

import stomp_twisted


async def main(reactor: Any, argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=61613)
    parser.add_argument("--destination", default="/queue/demo")
    parser.add_argument("--count", type=int, default=3)
    args = parser.parse_args(argv)
    client = stomp_twisted.connect(
        args.host,
        args.port,
        connect_headers={"login": "guest", "passcode": "guest"},
        reactor=reactor,
    )
    await client.when_connected()
    for number in range(1, args.count + 1):
        await client.send(f"hello {number} from stomp_twisted", args.destination)
        print(f"sent hello {number} to {args.destination} (broker receipt received)")
    await client.disconnect()


if __name__ == "__main__":
    import sys

    from twisted.internet.defer import ensureDeferred

    task.react(lambda reactor: ensureDeferred(main(reactor, sys.argv[1:])))
