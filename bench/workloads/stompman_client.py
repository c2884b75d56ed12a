"""
The workloads, written with stompman 3 (asyncio) as its documentation
shows: C{async with stompman.Client(...)}, C{await client.send(...)},
C{await client.subscribe(destination, handler, ...)}.  Heart-beats are
off, as for the other clients.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import stompman
import stompman.connection

from bench.harness import HOST, Meter, make_body
from bench.workloads import SEQ_DIGITS, Job, latency_result, sequenced_body

TIMEOUT = 120.0


def _client(job: Job) -> stompman.Client:
    broker = job.broker
    server = stompman.ConnectionParameters(
        host=HOST,
        port=broker.port,
        login=broker.login or "",
        passcode=broker.passcode or "",
    )
    return stompman.Client(
        [server], heartbeat=stompman.Heartbeat(0, 0), connection_class=_VirtualHostConnection
    )


class _VirtualHostConnection(stompman.connection.Connection):
    # stompman writes the server's address as CONNECT's host header, which
    # RabbitMQ takes for a virtual host name (it has only "/"), and lets no
    # connect_headers override it: this connection rewrites it.
    async def write_frame(self, frame: Any) -> None:
        if isinstance(frame, stompman.ConnectFrame):
            frame = stompman.ConnectFrame(headers={**frame.headers, "host": "/"})
        await super().write_frame(frame)


def _ignore(exception: Exception, frame: stompman.MessageFrame) -> None:
    raise exception


def _counter(
    count: int,
) -> tuple[Callable[[stompman.MessageFrame], Awaitable[None]], asyncio.Event]:
    done = asyncio.Event()
    received = 0

    async def on_message(frame: stompman.MessageFrame) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    return on_message, done


async def publish(job: Job) -> dict[str, Any]:
    body = make_body(job.size)
    headers = job.broker.queue_headers
    meter = Meter()
    client = _client(job)
    async with client:
        meter.start()
        for _ in range(job.count):
            await client.send(body, job.queue, headers=headers)
    # Leaving the context sends DISCONNECT and waits for its receipt.
    meter.stop()
    return meter.result(job.count)


async def consume(job: Job, ack: str) -> dict[str, Any]:
    on_message, done = _counter(job.count)
    meter = Meter()
    async with _client(job) as client:
        meter.start()
        subscription = await client.subscribe(
            job.queue,
            on_message,
            ack=ack,  # type: ignore[arg-type]
            headers=job.broker.queue_headers,
            on_suppressed_exception=_ignore,
        )
        await asyncio.wait_for(done.wait(), TIMEOUT)
        if ack == "auto":
            meter.stop()
        await subscription.unsubscribe()
    # With client acknowledgement: the DISCONNECT receipt follows every ACK.
    meter.stop()
    return meter.result(job.count)


async def confirm(job: Job) -> dict[str, Any]:
    body = make_body(job.size)
    meter = Meter()
    async with _client(job) as client:
        meter.start()
        for _ in range(job.count):
            await client.send(
                body, job.queue, headers=job.broker.queue_headers, receipt_timeout=TIMEOUT
            )
        meter.stop()
    return meter.result(job.count)


async def _subscribe_own_queue(
    client: stompman.Client, job: Job, on_message: Callable[[Any], Awaitable[None]]
) -> Any:
    # The round-trip workloads listen on the queue they send to.
    return await client.subscribe(
        job.queue,
        on_message,
        ack="auto",
        headers=job.broker.queue_headers,
        on_suppressed_exception=_ignore,
        receipt_timeout=TIMEOUT,
    )


async def rtt(job: Job) -> dict[str, Any]:
    returned = asyncio.Event()

    async def on_message(frame: stompman.MessageFrame) -> None:
        returned.set()

    body = make_body(job.size)
    samples = []
    meter = Meter()
    async with _client(job) as client:
        subscription = await _subscribe_own_queue(client, job, on_message)
        meter.start()
        for _ in range(job.count):
            returned.clear()
            started = time.perf_counter()
            await client.send(body, job.queue, headers=job.broker.queue_headers)
            await asyncio.wait_for(returned.wait(), TIMEOUT)
            samples.append(time.perf_counter() - started)
        meter.stop()
        await subscription.unsubscribe()
    return latency_result(samples, job.count, cpu_us=meter.cpu / job.count * 1e6)


async def rtt_low(job: Job) -> dict[str, Any]:
    sent_at: dict[int, float] = {}
    samples: list[float] = []
    on_count, done = _counter(job.count)

    async def on_message(frame: stompman.MessageFrame) -> None:
        arrived = time.perf_counter()
        samples.append(arrived - sent_at.pop(int(frame.body[:SEQ_DIGITS])))
        await on_count(frame)

    meter = Meter()
    loop = asyncio.get_running_loop()
    async with _client(job) as client:
        subscription = await _subscribe_own_queue(client, job, on_message)
        meter.start()
        start = loop.time()
        for seq in range(job.count):
            delay = start + seq / job.rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            body = sequenced_body(seq, job.size)
            sent_at[seq] = time.perf_counter()
            await client.send(body, job.queue, headers=job.broker.queue_headers)
        await asyncio.wait_for(done.wait(), TIMEOUT)
        meter.stop()
        await subscription.unsubscribe()
    return latency_result(samples, job.count, rate=job.rate, cpu_us=meter.cpu / job.count * 1e6)


def run(job: Job) -> dict[str, Any]:
    workloads: dict[str, Callable[[Job], Awaitable[dict[str, Any]]]] = {
        "publish": publish,
        "consume": lambda job: consume(job, "auto"),
        "consume-ack": lambda job: consume(job, "client-individual"),
        "confirm": confirm,
        "rtt": rtt,
        "rtt-low": rtt_low,
    }
    return asyncio.run(workloads[job.workload](job))  # type: ignore[arg-type]
