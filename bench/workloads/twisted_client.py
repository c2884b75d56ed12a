"""
The workloads, written with stomp_twisted as its documentation shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, task
from twisted.internet.defer import Deferred

from bench.harness import HOST, Meter, make_body, react_for_result
from bench.workloads import SEQ_DIGITS, Job, latency_result, sequenced_body
from stomp_twisted import StompClient, connect

MessageCallback = Callable[[StompClient, bytes, dict[str, str]], object]


async def _connected(reactor: Any, job: Job) -> StompClient:
    broker = job.broker
    client = connect(
        HOST,
        broker.port,
        reactor=reactor,
        reconnect=None,
        login=broker.login,
        passcode=broker.passcode,
    )
    await client.when_connected()
    return client


def _counter(count: int) -> tuple[MessageCallback, Deferred[None]]:
    # A MESSAGE callback that fires the Deferred at the count-th message.
    done: Deferred[None] = Deferred()
    received = 0

    def on_message(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.callback(None)

    return on_message, done


async def publish(reactor: Any, job: Job) -> dict[str, Any]:
    client = await _connected(reactor, job)
    body = make_body(job.size)
    headers = job.broker.queue_headers
    queue = job.queue
    meter = Meter()
    meter.start()
    for _ in range(job.count):
        await client.send(body, queue, headers, receipt=False)
    await client.disconnect()
    meter.stop()
    return meter.result(job.count)


async def consume(reactor: Any, job: Job, ack: str | None) -> dict[str, Any]:
    client = await _connected(reactor, job)
    on_message, done = _counter(job.count)
    meter = Meter()
    meter.start()
    client.subscribe(job.queue, on_message, ack=ack, headers=job.broker.queue_headers)
    await done
    if ack is not None:
        # The ACKs are written before DISCONNECT: its receipt covers them.
        await client.disconnect()
    meter.stop()
    if ack is None:
        await client.disconnect()
    return meter.result(job.count)


async def confirm(reactor: Any, job: Job) -> dict[str, Any]:
    client = await _connected(reactor, job)
    body = make_body(job.size)
    headers = job.broker.queue_headers
    meter = Meter()
    meter.start()
    for _ in range(job.count):
        await client.send(body, job.queue, headers)
    meter.stop()
    await client.disconnect()
    return meter.result(job.count)


async def confirm_window(reactor: Any, job: Job) -> dict[str, Any]:
    # A sliding window: each receipt lets one more SEND go.
    client = await _connected(reactor, job)
    body = make_body(job.size)
    headers = job.broker.queue_headers
    finished: Deferred[None] = Deferred()
    sent = 0
    confirmed = 0

    def send_more(_: object = None) -> None:
        nonlocal sent
        while sent - confirmed < job.window and sent < job.count:
            sent += 1
            client.send(body, job.queue, headers).addCallbacks(on_receipt, finished.errback)

    def on_receipt(_: object) -> None:
        nonlocal confirmed
        confirmed += 1
        if confirmed == job.count:
            finished.callback(None)
        else:
            send_more()

    meter = Meter()
    meter.start()
    send_more()
    await finished
    meter.stop()
    await client.disconnect()
    return meter.result(job.count, window=job.window)


async def rtt(reactor: Any, job: Job) -> dict[str, Any]:
    client = await _connected(reactor, job)
    waiting: list[Deferred[None]] = []

    def on_message(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        waiting.pop().callback(None)

    await client.subscribe(job.queue, on_message, headers=job.broker.queue_headers)
    body = make_body(job.size)
    samples = []
    meter = Meter()
    meter.start()
    for _ in range(job.count):
        returned: Deferred[None] = Deferred()
        waiting.append(returned)
        started = time.perf_counter()
        client.send(body, job.queue, job.broker.queue_headers, receipt=False)
        await returned
        samples.append(time.perf_counter() - started)
    meter.stop()
    await client.disconnect()
    return latency_result(samples, job.count, cpu_us=meter.cpu / job.count * 1e6)


async def rtt_low(reactor: Any, job: Job) -> dict[str, Any]:
    client = await _connected(reactor, job)
    sent_at: dict[int, float] = {}
    samples: list[float] = []
    on_count, done = _counter(job.count)

    def on_message(client: StompClient, body: bytes, headers: dict[str, str]) -> None:
        arrived = time.perf_counter()
        samples.append(arrived - sent_at.pop(int(body[:SEQ_DIGITS])))
        on_count(client, body, headers)

    await client.subscribe(job.queue, on_message, headers=job.broker.queue_headers)
    headers = job.broker.queue_headers
    meter = Meter()
    meter.start()
    start = reactor.seconds()
    for seq in range(job.count):
        delay = start + seq / job.rate - reactor.seconds()
        if delay > 0:
            await task.deferLater(reactor, delay)
        sent_at[seq] = time.perf_counter()
        client.send(sequenced_body(seq, job.size), job.queue, headers, receipt=False)
    await done
    meter.stop()
    await client.disconnect()
    return latency_result(samples, job.count, rate=job.rate, cpu_us=meter.cpu / job.count * 1e6)


def run(job: Job) -> dict[str, Any]:
    workloads = {
        "publish": publish,
        "consume": lambda reactor, job: consume(reactor, job, None),
        "consume-ack": lambda reactor, job: consume(reactor, job, "auto"),
        "confirm": confirm,
        "confirm-window": confirm_window,
        "rtt": rtt,
        "rtt-low": rtt_low,
    }
    workload = workloads[job.workload]
    return react_for_result(lambda reactor: workload(reactor, job))


__all__ = ["defer", "run"]
