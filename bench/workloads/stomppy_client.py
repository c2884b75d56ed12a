"""
The workloads, written with stomp.py 9 as its documentation shows: a
StompConnection12 and a listener, called on stomp.py's receiver thread.
Bodies are left as bytes (C{auto_decode=False}), as the other clients
leave them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import stomp

from bench.harness import HOST, Meter, make_body
from bench.workloads import SEQ_DIGITS, Job, latency_result, sequenced_body

TIMEOUT = 120.0


class Listener(stomp.ConnectionListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.message: Callable[[Any], None] = lambda frame: None
        self.receipts: dict[str, threading.Event] = {}
        self.errors: list[Any] = []

    def expect_receipt(self, receipt: str) -> threading.Event:
        event = self.receipts[receipt] = threading.Event()
        return event

    def on_message(self, frame: Any) -> None:
        self.message(frame)

    def on_receipt(self, frame: Any) -> None:
        event = self.receipts.pop(frame.headers.get("receipt-id"), None)
        if event is not None:
            event.set()

    def on_error(self, frame: Any) -> None:
        self.errors.append(frame)


def _connected(job: Job) -> tuple[Any, Listener]:
    # vhost: the host header, which RabbitMQ takes for its virtual host.
    connection = stomp.Connection12([(HOST, job.broker.port)], vhost="/", auto_decode=False)
    listener = Listener()
    connection.set_listener("bench", listener)
    connection.connect(job.broker.login, job.broker.passcode, wait=True)
    return connection, listener


def _disconnect(connection: Any, listener: Listener) -> None:
    # stomp.py's disconnect returns once the receiver thread saw the receipt.
    gone = listener.expect_receipt("bye")
    connection.disconnect(receipt="bye")
    if not gone.wait(TIMEOUT):
        raise TimeoutError("no DISCONNECT receipt")


def _counter(count: int) -> tuple[Callable[[Any], None], threading.Event]:
    done = threading.Event()
    received = 0

    def on_message(frame: Any) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    return on_message, done


def publish(job: Job) -> dict[str, Any]:
    connection, listener = _connected(job)
    body = make_body(job.size)
    headers = job.broker.queue_headers
    meter = Meter()
    meter.start()
    for _ in range(job.count):
        connection.send(job.queue, body, headers=headers)
    _disconnect(connection, listener)
    meter.stop()
    return meter.result(job.count)


def consume(job: Job, ack: str) -> dict[str, Any]:
    connection, listener = _connected(job)
    on_message, done = _counter(job.count)
    if ack == "auto":
        listener.message = on_message
    else:

        def ack_then_count(frame: Any) -> None:
            connection.ack(frame.headers["ack"])
            on_message(frame)

        listener.message = ack_then_count
    meter = Meter()
    meter.start()
    connection.subscribe(job.queue, id="1", ack=ack, headers=job.broker.queue_headers)
    if not done.wait(TIMEOUT):
        raise TimeoutError("not every message arrived")
    if ack != "auto":
        _disconnect(connection, listener)
    meter.stop()
    if ack == "auto":
        _disconnect(connection, listener)
    return meter.result(job.count)


def confirm(job: Job) -> dict[str, Any]:
    connection, listener = _connected(job)
    body = make_body(job.size)
    meter = Meter()
    meter.start()
    for seq in range(job.count):
        receipt = f"r-{seq}"
        confirmed = listener.expect_receipt(receipt)
        connection.send(job.queue, body, headers={**job.broker.queue_headers, "receipt": receipt})
        if not confirmed.wait(TIMEOUT):
            raise TimeoutError(f"no receipt for message {seq}")
    meter.stop()
    _disconnect(connection, listener)
    return meter.result(job.count)


def _subscribe_to_own_queue(connection: Any, listener: Listener, job: Job) -> None:
    subscribed = listener.expect_receipt("subscribed")
    connection.subscribe(
        job.queue,
        id="1",
        ack="auto",
        headers={**job.broker.queue_headers, "receipt": "subscribed"},
    )
    if not subscribed.wait(TIMEOUT):
        raise TimeoutError("no SUBSCRIBE receipt")


def rtt(job: Job) -> dict[str, Any]:
    connection, listener = _connected(job)
    returned = threading.Event()
    listener.message = lambda frame: returned.set()
    _subscribe_to_own_queue(connection, listener, job)
    body = make_body(job.size)
    samples = []
    meter = Meter()
    meter.start()
    for _ in range(job.count):
        returned.clear()
        started = time.perf_counter()
        connection.send(job.queue, body, headers=job.broker.queue_headers)
        if not returned.wait(TIMEOUT):
            raise TimeoutError("a message did not come back")
        samples.append(time.perf_counter() - started)
    meter.stop()
    _disconnect(connection, listener)
    return latency_result(samples, job.count, cpu_us=meter.cpu / job.count * 1e6)


def rtt_low(job: Job) -> dict[str, Any]:
    connection, listener = _connected(job)
    sent_at: dict[int, float] = {}
    samples: list[float] = []
    on_count, done = _counter(job.count)

    def on_message(frame: Any) -> None:
        arrived = time.perf_counter()
        samples.append(arrived - sent_at.pop(int(frame.body[:SEQ_DIGITS])))
        on_count(frame)

    listener.message = on_message
    _subscribe_to_own_queue(connection, listener, job)
    meter = Meter()
    meter.start()
    start = time.monotonic()
    for seq in range(job.count):
        delay = start + seq / job.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = sequenced_body(seq, job.size)
        sent_at[seq] = time.perf_counter()
        connection.send(job.queue, body, headers=job.broker.queue_headers)
    if not done.wait(TIMEOUT):
        raise TimeoutError("not every message came back")
    meter.stop()
    _disconnect(connection, listener)
    return latency_result(samples, job.count, rate=job.rate, cpu_us=meter.cpu / job.count * 1e6)


def run(job: Job) -> dict[str, Any]:
    workloads: dict[str, Callable[[Job], dict[str, Any]]] = {
        "publish": publish,
        "consume": lambda job: consume(job, "auto"),
        "consume-ack": lambda job: consume(job, "client-individual"),
        "confirm": confirm,
        "rtt": rtt,
        "rtt-low": rtt_low,
    }
    return workloads[job.workload](job)
