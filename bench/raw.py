"""
The raw-socket ceiling: what the broker allows a client that does nothing
but write pre-serialized frames, or read and count NULs.

    PYTHONPATH=. .venv/bin/python -m bench.raw WORKLOAD --broker rabbitmq --queue Q
        --count N [--size 100]

WORKLOAD is one of:

  publish        write N SEND frames, serialized beforehand, with one
                 sendall; end at the RECEIPT of the DISCONNECT that follows;
  consume-eager  SUBSCRIBE (ack:auto) to a pre-filled queue and recv()
                 64 KiB at a time as soon as anything arrived, counting
                 NULs, until N;
  consume-batch  the same, but sleep 1 ms after each read that did not
                 fill the buffer, so that the next read finds more: on two
                 cores, a reader that wakes for every few frames takes CPU
                 time the broker needs.  (A full read means more is
                 waiting: it reads again at once.)

Each prints one result line for L{bench.run}.  The module also gives the
orchestrator its untimed helpers: L{fill} (pre-fill a queue) and L{drain}
(empty one).
"""

from __future__ import annotations

import argparse
import socket
import time

from bench.harness import BROKERS, HOST, Broker, Meter, deadline_guard, emit, make_body

READ_SIZE = 64 * 1024
#: The pause after each read of consume-batch that did not fill the buffer.
BATCH_PAUSE = 0.001


def frame(command: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    # Benchmark headers need no escaping.
    lines = [command, *(f"{name}:{value}" for name, value in headers.items())]
    if body:
        lines.append(f"content-length:{len(body)}")
    return ("\n".join(lines) + "\n\n").encode() + body + b"\0"


class RawConnection:
    """
    A STOMP 1.2 session over a blocking socket, for the benchmarks only.
    """

    def __init__(self, broker: Broker, timeout: float = 60.0) -> None:
        self.sock = socket.create_connection((HOST, broker.port), timeout=timeout)
        self.buffer = b""
        headers = {"accept-version": "1.2", "host": "/", **broker.connect_headers}
        self.sock.sendall(frame("CONNECT", headers))
        connected = self.read_frame()
        if not connected.startswith(b"CONNECTED"):
            raise RuntimeError(f"{broker.name} refused CONNECT: {connected[:200]!r}")
        #: The broker's name and version, from CONNECTED's server header.
        self.server = "unknown"
        for line in connected.decode("utf-8", "replace").splitlines():
            if line.startswith("server:"):
                self.server = line[len("server:") :]

    def read_frame(self) -> bytes:
        # The next frame, up to its NUL (benchmark bodies hold none).
        while True:
            end = self.buffer.find(b"\0")
            if end >= 0:
                head, self.buffer = self.buffer[:end], self.buffer[end + 1 :]
                return head.lstrip(b"\r\n")
            data = self.sock.recv(READ_SIZE)
            if not data:
                raise ConnectionError("the broker closed the connection")
            self.buffer += data

    def subscribe(self, queue: str, broker: Broker) -> None:
        headers = {"destination": queue, "id": "raw-1", "ack": "auto", **broker.queue_headers}
        self.sock.sendall(frame("SUBSCRIBE", headers))

    def count_messages(self, count: int, pause: float = 0.0) -> int:
        """
        Read until C{count} NULs have arrived (after what was buffered);
        return the number of reads.
        """
        seen = self.buffer.count(b"\0")
        reads = 0
        recv = self.sock.recv
        while seen < count:
            data = recv(READ_SIZE)
            if not data:
                raise ConnectionError(f"the broker closed the connection after {seen} messages")
            reads += 1
            seen += data.count(b"\0")
            if pause and len(data) < READ_SIZE:
                time.sleep(pause)
        self.buffer = b""
        return reads

    def disconnect(self) -> None:
        self.sock.sendall(frame("DISCONNECT", {"receipt": "bye"}))
        try:
            while b"RECEIPT" not in self.read_frame():
                pass
        except (ConnectionError, OSError):
            pass
        self.sock.close()


def send_frames(broker: Broker, queue: str, count: int, size: int) -> bytes:
    """
    C{count} SEND frames to C{queue}, serialized.
    """
    headers = {"destination": queue, **broker.queue_headers}
    return frame("SEND", headers, make_body(size)) * count


def fill(broker: Broker, queue: str, count: int, size: int = 100) -> None:
    """
    Put C{count} messages on C{queue} (untimed: the consume workloads'
    pre-filling).
    """
    connection = RawConnection(broker)
    data = send_frames(broker, queue, count, size)
    for start in range(0, len(data), 4 * 1024 * 1024):
        connection.sock.sendall(data[start : start + 4 * 1024 * 1024])
    connection.disconnect()


def drain(broker: Broker, queue: str, count: int, timeout: float = 60.0) -> int:
    """
    Take C{count} messages off C{queue} (after a publish workload);
    return how many came before C{timeout} seconds of silence.
    """
    connection = RawConnection(broker, timeout=timeout)
    connection.subscribe(queue, broker)
    seen = 0
    try:
        while seen < count:
            data = connection.sock.recv(READ_SIZE)
            if not data:
                break
            seen += data.count(b"\0")
    except TimeoutError:
        pass
    connection.disconnect()
    return seen


# --- the timed workloads (child processes) ------------------------------------------


def publish(broker: Broker, queue: str, count: int, size: int) -> dict[str, object]:
    connection = RawConnection(broker)
    data = send_frames(broker, queue, count, size)
    meter = Meter()
    meter.start()
    connection.sock.sendall(data)
    connection.disconnect()
    meter.stop()
    return meter.result(count)


def consume(broker: Broker, queue: str, count: int, batch: bool) -> dict[str, object]:
    connection = RawConnection(broker)
    meter = Meter()
    meter.start()
    connection.subscribe(queue, broker)
    reads = connection.count_messages(count, BATCH_PAUSE if batch else 0.0)
    meter.stop()
    connection.disconnect()
    return meter.result(count, reads=reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=["publish", "consume-eager", "consume-batch"])
    parser.add_argument("--broker", choices=sorted(BROKERS), default="rabbitmq")
    parser.add_argument("--queue", required=True)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--deadline", type=float, default=120.0)
    options = parser.parse_args()
    deadline_guard(options.deadline)
    broker = BROKERS[options.broker]
    if options.workload == "publish":
        result = publish(broker, options.queue, options.count, options.size)
    else:
        batch = options.workload == "consume-batch"
        result = consume(broker, options.queue, options.count, batch)
    emit(result)


if __name__ == "__main__":
    main()
