"""
Send a few messages to a destination, waiting for each receipt: the other
half of the README's quick start, now a thin wrapper around the
C{stomp-send} command (C{make demo-send} runs that command directly).

    python scripts/demo_send.py [--host 127.0.0.1] [--port 61613]
        [--destination /queue/demo] [--count 3]
"""

from __future__ import annotations

import argparse

from stomp_twisted import send


def stomp_send_arguments(argv: list[str]) -> list[str]:
    """
    The C{stomp-send} command line for this script's own.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=61613)
    parser.add_argument("--destination", default="/queue/demo")
    parser.add_argument("--count", type=int, default=3)
    args = parser.parse_args(argv)
    messages = [f"hello {number} from stomp_twisted" for number in range(1, args.count + 1)]
    return [
        "--host", args.host, "--port", str(args.port), "--destination", args.destination,
        "--verbose", "--", *messages,
    ]  # fmt: skip


if __name__ == "__main__":
    import sys

    send.main(stomp_send_arguments(sys.argv[1:]))
