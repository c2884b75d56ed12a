"""
Peak memory of a client receiving a large ERROR frame, against the same
body in a MESSAGE (issue 10, item 3).

    .venv/bin/python -m bench.error_memory [--size 60000000] [--line 10] [--json FILE]

Each measurement runs two fresh processes: a scripted broker
(L{test.hostile.ScriptedBroker}) that answers CONNECT and then sends one
frame whose body is --size bytes of short lines (--line bytes each,
newline included), and a stomp_twisted client that connects to it over
loopback TCP with C{FrameLimits.max_body} raised above --size.  The
client reports C{ru_maxrss} (its peak resident memory) once the frame has
been handled: for an ERROR, once the connection it ends is lost and the
client has built its L{BrokerError}; for a MESSAGE, once the subscription's
callback has run.  Its baseline is its RSS right after CONNECTED.

Before the fix, the ERROR's body was decoded, stripped and split whole to
build the exception's text: 60 MB of short lines peaked at 1.65 GB, eight
times the MESSAGE's peak.  Now the exception looks at a bounded prefix
only, so both should peak at about the same size.  Nothing talks to
anything but 127.0.0.1; nothing is written unless --json is given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
MIB = 1024 * 1024
TOP = Path(__file__).resolve().parent.parent
KINDS = ("ERROR", "MESSAGE")
DESTINATION = "/queue/bench-error-memory"
#: Seconds a child process may take before the run fails.
CHILD_DEADLINE = 120.0


def body_of_short_lines(size: int, line: int) -> bytes:
    """
    C{size} bytes of lines of C{line} bytes each (the last one shorter),
    like a long stack trace.
    """
    one = b"at " + b"x" * max(0, line - 4) + b"\n"
    return (one * (size // len(one) + 1))[:size]


def rss_kib() -> int:
    """
    The current resident set size, in KiB.
    """
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_kib() -> int:
    """
    The peak resident set size so far (Linux reports KiB).
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- the broker process ------------------------------------------------------


def run_broker(kind: str, size: int, line: int) -> None:
    """
    Serve one client: CONNECTED, then one frame of C{kind} with the big
    body (a MESSAGE once the client subscribed).  Prints the port.
    """
    sys.path.insert(0, str(TOP))
    from twisted.internet import reactor

    from stomp_twisted.frame import Frame
    from test.hostile import BrokerSide, Script, ScriptedBroker

    body = body_of_short_lines(size, line)

    class OneBigFrame(Script):
        def on_connect(self, side: BrokerSide, frame: Frame) -> None:
            super().on_connect(side, frame)
            if kind == "ERROR":
                side.send("ERROR", {"message": "big error"}, body)

        def on_frame(self, side: BrokerSide, frame: Frame) -> None:
            super().on_frame(side, frame)
            if frame.command == "SUBSCRIBE":
                headers = {
                    "subscription": frame.headers["id"],
                    "destination": DESTINATION,
                    "message-id": "m-1",
                    "ack": "m-1",
                }
                side.send("MESSAGE", headers, body)

    broker = ScriptedBroker(OneBigFrame())
    print(broker.start(), flush=True)
    # Until the parent terminates it.
    reactor.run()  # type: ignore[attr-defined]


# --- the client process ------------------------------------------------------


def run_client(kind: str, size: int, port: int) -> None:
    """
    Connect, take the big frame, print a JSON line of memory figures.
    """
    from twisted.internet import reactor

    import stomp_twisted
    from stomp_twisted.frame import FrameLimits

    result: dict[str, Any] = {"kind": kind, "size": size}
    limits = FrameLimits(max_body=size + MIB)
    client = stomp_twisted.connect(
        HOST,
        port,
        reactor=reactor,
        reconnect=None,
        limits=limits,
        destination=DESTINATION if kind == "MESSAGE" else None,
    )

    def connected(frame_client: object, *rest: object) -> None:
        result["baseline_kib"] = rss_kib()

    def finish() -> None:
        result["peak_kib"] = peak_kib()
        result["rss_after_kib"] = rss_kib()
        if reactor.running:  # type: ignore[attr-defined]
            reactor.stop()  # type: ignore[attr-defined]

    def message(_client: object, body: bytes, headers: dict[str, str]) -> None:
        result["received"] = len(body)
        client.disconnect().addBoth(lambda _: finish())

    def error_frame(_client: object, body: bytes, headers: dict[str, str]) -> None:
        result["received"] = len(body)

    def lost(_client: object, why: object, *rest: object) -> None:
        result["error_text_chars"] = len(str(why))
        finish()

    client.reg_cb("CONNECTED", connected)
    client.reg_cb("MESSAGE", message)
    client.reg_cb("ERROR", error_frame)
    client.reg_cb("disconnect", lost)
    reactor.callLater(CHILD_DEADLINE, finish)  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]
    print(json.dumps(result), flush=True)


# --- the parent ----------------------------------------------------------------


def measure(kind: str, size: int, line: int) -> dict[str, Any]:
    """
    One measurement, in two fresh processes.
    """
    this = [sys.executable, "-m", "bench.error_memory"]
    env = dict(os.environ, PYTHONPATH=str(TOP))
    broker = subprocess.Popen(
        [*this, "--broker", kind, "--size", str(size), "--line", str(line)],
        stdout=subprocess.PIPE,
        cwd=TOP,
        env=env,
        text=True,
    )
    try:
        assert broker.stdout is not None
        port = int(broker.stdout.readline())
        client = subprocess.run(
            [*this, "--client", kind, "--size", str(size), "--port", str(port)],
            capture_output=True,
            cwd=TOP,
            env=env,
            text=True,
            timeout=CHILD_DEADLINE + 30,
        )
    finally:
        broker.terminate()
        broker.wait(timeout=30)
    if client.returncode != 0 or not client.stdout.strip():
        raise SystemExit(f"{kind}: the client failed:\n{client.stderr}")
    result: dict[str, Any] = json.loads(client.stdout.strip().splitlines()[-1])
    if result.get("received") != size:
        raise SystemExit(f"{kind}: the client did not receive the whole body: {result}")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=60_000_000, help="body bytes")
    parser.add_argument("--line", type=int, default=10, help="bytes per line of the body")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--broker", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.broker:
        run_broker(args.broker, args.size, args.line)
        return
    if args.client:
        run_client(args.client, args.size, args.port)
        return
    print(f"a {args.size / 1e6:g} MB body of {args.line}-byte lines, over loopback TCP")
    results = []
    for kind in KINDS:
        result = measure(kind, args.size, args.line)
        results.append(result)
        growth = (result["peak_kib"] - result["baseline_kib"]) / 1024
        print(
            f"{kind:8} peak RSS {result['peak_kib'] / 1024:7.1f} MiB "
            f"(baseline {result['baseline_kib'] / 1024:.1f} MiB, growth {growth:.1f} MiB)"
        )
    ratio = results[0]["peak_kib"] / results[1]["peak_kib"]
    print(f"ERROR / MESSAGE peak: {ratio:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
