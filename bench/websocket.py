"""
STOMP over WebSocket (issue 13): stomp_twisted against stomp.py 9's
C{WSStompConnection}, both on RabbitMQ's Web-STOMP endpoint
C{ws://127.0.0.1:15674/ws}, in the same run.

    .venv/bin/python -m bench.websocket [--count N] [--repeat R] [--json FILE]

Two workloads of 100-byte messages, the same code as the TCP benchmark's
(L{bench.workloads}): C{publish} (N SENDs without receipts, ending at the
DISCONNECT receipt) and C{consume} (N messages of a pre-filled queue,
ack:auto).  Only the connection differs: each child process replaces its
client module's C{_connected} with a WebSocket one before running the
workload.  Queues are filled and drained untimed, over plain STOMP on
61613 (the same RabbitMQ queues).

For publishing, a third row is the ceiling: C{raw}, a writer that does
nothing but send SEND frames serialized beforehand, 64 KiB of them per
binary WebSocket message (websocket-client, the library under stomp.py's
C{WSStompConnection}), then DISCONNECT, and waits for the broker to close
the connection: what the broker allows a client that costs nothing.

Each measurement runs in its own child process; within each repetition
the clients take turns, the first one rotating from one repetition to
the next.  Reported per client, as medians (and min-max) of the
repetitions: messages per second and CPU per message, both as the
workload measures it (the child's own C{getrusage} between connected and
done, as in L{bench.harness.Meter}) and for the whole child process (its
C{getrusage} as the parent collects it: interpreter start, imports and
connecting included).  Then the ratios of stomp_twisted's medians to
stomp.py's, against the issue's goal: at least 1.5 times the messages per
second at no more than half the CPU per message, and stomp_twisted's rate
as a share of the raw writer's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import raw
from bench.harness import (
    BROKERS,
    HOST,
    Meter,
    deadline_guard,
    emit,
    make_body,
    parse_result,
    summarize,
)
from bench.harness import unique_queue as bench_queue
from bench.workloads import Job

ROOT = Path(__file__).resolve().parent.parent
#: RabbitMQ's Web-STOMP plugin, as scripts/brokers enables it.
WS_PORT = 15674
WS_PATH = "/ws"
WS_URL = f"ws://{HOST}:{WS_PORT}{WS_PATH}"
CLIENTS = ("stomp_twisted", "stomp.py")
BASELINE = "stomp.py"
#: The publishing ceiling (see the module's docstring).
RAW = "raw"
WORKLOADS = ("publish", "consume")
#: The clients measured for each workload.
CLIENTS_OF = {"publish": (*CLIENTS, RAW), "consume": CLIENTS}
#: The bytes of frames the raw writer puts in one WebSocket message.
RAW_MESSAGE = 64 * 1024
SIZE = 100
#: The issue's goal: stomp_twisted's rate at least this times stomp.py's...
GOAL_RATE = 1.5
#: ...at no more than this times its CPU per message.
GOAL_CPU = 0.5
CHILD_DEADLINE = 300.0


# --- the child: one workload of one client over WebSocket ----------------------


def _patch_twisted() -> Any:
    from bench.workloads import twisted_client
    from stomp_twisted import StompClient, connect

    async def connected(reactor: Any, job: Job) -> StompClient:
        client = connect(
            WS_URL,
            reactor=reactor,
            reconnect=None,
            login=job.broker.login,
            passcode=job.broker.passcode,
        )
        await client.when_connected()
        return client

    twisted_client._connected = connected
    return twisted_client


def _patch_stomppy() -> Any:
    import stomp

    from bench.workloads import stomppy_client

    class Listener(stomppy_client.Listener):
        def __init__(self) -> None:
            super().__init__()
            self.gone = threading.Event()

        def on_disconnected(self) -> None:
            self.gone.set()

    def connected(job: Job) -> tuple[Any, Listener]:
        # As stomp.py documents its WebSocket connection; vhost: the host
        # header (RabbitMQ's virtual host), as in the TCP workloads.
        connection = stomp.WSStompConnection(
            [(HOST, WS_PORT)], ws_path=WS_PATH, vhost="/", auto_decode=False
        )
        listener = Listener()
        connection.set_listener("bench", listener)
        connection.connect(job.broker.login, job.broker.passcode, wait=True)
        return connection, listener

    def disconnect(connection: Any, listener: Listener) -> None:
        # RabbitMQ's Web-STOMP (3.10) answers DISCONNECT by closing the
        # WebSocket ("STOMP died", code 1000) without the RECEIPT asked
        # for: the close, once the broker has handled every frame before
        # it, is the end (as for stomp_twisted's disconnect()).
        connection.disconnect(receipt="bye")
        if not listener.gone.wait(stomppy_client.TIMEOUT):
            raise TimeoutError("the broker did not close the connection after DISCONNECT")

    stomppy_client._connected = connected
    stomppy_client._disconnect = disconnect
    return stomppy_client


def raw_publish(job: Job) -> dict[str, Any]:
    """
    The raw writer: C{job.count} SENDs serialized beforehand, sent in
    binary messages of up to L{RAW_MESSAGE} bytes, then DISCONNECT; timed
    until the broker closes the connection (RabbitMQ's Web-STOMP closes
    it once it has handled every frame before DISCONNECT).
    """
    import websocket

    broker = job.broker
    connection = websocket.create_connection(WS_URL, subprotocols=["v12.stomp"])
    headers = {"accept-version": "1.2", "host": "/", **broker.connect_headers}
    connection.send_binary(raw.frame("CONNECT", headers))
    connected = connection.recv()
    if not str(connected).startswith("CONNECTED"):
        raise RuntimeError(f"the broker refused CONNECT: {connected!r:.200}")
    send = raw.frame("SEND", {"destination": job.queue, **broker.queue_headers}, make_body(SIZE))
    per_message = max(1, RAW_MESSAGE // len(send))
    messages = [
        send * min(per_message, job.count - start) for start in range(0, job.count, per_message)
    ]
    meter = Meter()
    meter.start()
    for message in messages:
        connection.send_binary(message)
    connection.send_binary(raw.frame("DISCONNECT", {"receipt": "bye"}))
    try:
        while connection.recv():
            pass
    except websocket.WebSocketConnectionClosedException:
        pass
    meter.stop()
    connection.close()
    return meter.result(job.count)


def child(client: str, workload: str, queue: str, count: int) -> None:
    deadline_guard(CHILD_DEADLINE)
    job = Job(client, workload, BROKERS["rabbitmq"], queue, count, SIZE, 1000, 200.0)
    if client == RAW:
        emit(raw_publish(job))
        return
    module = _patch_twisted() if client == "stomp_twisted" else _patch_stomppy()
    emit(module.run(job))


# --- the parent ------------------------------------------------------------------


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_one(client: str, workload: str, count: int) -> dict[str, Any]:
    """
    One child run: its result, with the whole child process's CPU added
    as C{process_cpu} and C{process_cpu_us} (the growth of this process's
    C{RUSAGE_CHILDREN} over the run: the child is the only process it
    reaps meanwhile).
    """
    broker = BROKERS["rabbitmq"]
    queue = bench_queue(f"ws-{workload}")
    if workload == "consume":
        raw.fill(broker, queue, count, SIZE)
    command = [sys.executable, "-m", "bench.websocket", "--child", client, workload, queue]
    command += ["--count", str(count)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    before = _children_cpu()
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_DEADLINE + 10,
        check=False,
    )
    process_cpu = _children_cpu() - before
    result = parse_result(done.stdout)
    if result is None:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        result = {"error": f"exit {done.returncode}: {' / '.join(tail)}"}
    else:
        result["process_cpu"] = process_cpu
        result["process_cpu_us"] = process_cpu / count * 1e6
    if workload == "publish" or "error" in result:
        # Leave nothing behind (RabbitMQ also deletes the auto-delete queue
        # once the drain's subscription leaves).
        result["drained"] = raw.drain(broker, queue, count, timeout=5.0)
        if workload == "publish" and "error" not in result and result["drained"] != count:
            # Not a measurement of publishing N messages.
            result["error"] = f"{result['drained']} of {count} messages reached the queue"
    return result


def _median(results: list[dict[str, Any]], key: str) -> dict[str, float]:
    return summarize([r[key] for r in results if "error" not in r])


def report(samples: dict[str, dict[str, list[dict[str, Any]]]]) -> tuple[str, dict[str, Any]]:
    """
    The text report, and the summary behind it.
    """
    lines = []
    summary: dict[str, Any] = {}
    for workload in WORKLOADS:
        lines.append(f"{workload}, {SIZE}-byte messages, over WebSocket ({WS_URL}):")
        lines.append(
            f"  {'client':<14} {'msg/s (min-max)':>26} {'CPU us/msg (min-max)':>24}"
            f" {'whole process':>14} {'errors':>7}"
        )
        stats: dict[str, dict[str, dict[str, float]]] = {}
        for client in CLIENTS_OF[workload]:
            results = samples[workload][client]
            rate = _median(results, "rate")
            cpu = _median(results, "cpu_us")
            process = _median(results, "process_cpu_us")
            errors = [r["error"] for r in results if "error" in r]
            stats[client] = {"rate": rate, "cpu_us": cpu, "process_cpu_us": process}
            lines.append(
                f"  {client:<14} {rate['median']:>9.0f} ({rate['min']:.0f}-{rate['max']:.0f})"
                f"{'':>3} {cpu['median']:>9.1f} ({cpu['min']:.1f}-{cpu['max']:.1f})"
                f" {process['median']:>14.1f} {len(errors):>7}"
            )
            for error in errors:
                lines.append(f"    error: {error}")
        ours, base = stats["stomp_twisted"], stats[BASELINE]
        rate_ratio = ours["rate"]["median"] / base["rate"]["median"]
        cpu_ratio = ours["cpu_us"]["median"] / base["cpu_us"]["median"]
        process_ratio = ours["process_cpu_us"]["median"] / base["process_cpu_us"]["median"]
        met = rate_ratio >= GOAL_RATE and cpu_ratio <= GOAL_CPU
        lines.append(
            f"  stomp_twisted / stomp.py: {rate_ratio:.2f}x the msg/s (goal >= {GOAL_RATE}),"
            f" {cpu_ratio:.2f}x the CPU per message (goal <= {GOAL_CPU});"
            f" whole process {process_ratio:.2f}x: goal {'met' if met else 'NOT met'}"
        )
        summary[workload] = {
            **stats,
            "rate_ratio": rate_ratio,
            "cpu_ratio": cpu_ratio,
            "process_cpu_ratio": process_ratio,
            "goal_met": met,
        }
        if RAW in stats:
            of_raw = ours["rate"]["median"] / stats[RAW]["rate"]["median"]
            ceiling = stats[RAW]["rate"]["median"] / base["rate"]["median"]
            lines.append(
                f"  stomp_twisted: {of_raw:.0%} of the raw writer's msg/s"
                f" (the raw writer: {ceiling:.2f}x stomp.py's)"
            )
            summary[workload]["of_raw"] = of_raw
        lines.append("")
    return "\n".join(lines), summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.websocket", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000, help="messages per run")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--json", type=Path, help="also write every sample and the summary here")
    parser.add_argument(
        "--child", nargs=3, metavar=("CLIENT", "WORKLOAD", "QUEUE"), help=argparse.SUPPRESS
    )
    options = parser.parse_args(argv)
    if options.child:
        client, workload, queue = options.child
        child(client, workload, queue, options.count)
        return
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {
        workload: {client: [] for client in CLIENTS_OF[workload]} for workload in WORKLOADS
    }
    started = time.monotonic()
    for turn in range(options.repeat):
        for workload in WORKLOADS:
            # The clients take turns, the first one rotating between
            # repetitions.
            clients = CLIENTS_OF[workload]
            first = turn % len(clients)
            for client in clients[first:] + clients[:first]:
                result = run_one(client, workload, options.count)
                samples[workload][client].append(result)
                shown = (
                    result.get("error")
                    or f"{result['rate']:.0f} msg/s, {result['cpu_us']:.1f} us/msg"
                )
                print(
                    f"[{turn + 1}/{options.repeat}] {workload:<8} {client:<14} {shown}",
                    file=sys.stderr,
                )
    text, summary = report(samples)
    elapsed = time.monotonic() - started
    print(f"{options.repeat} repetitions of {options.count} messages, {elapsed:.0f} s\n")
    print(text)
    if options.json is not None:
        options.json.write_text(
            json.dumps({"samples": samples, "summary": summary}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
