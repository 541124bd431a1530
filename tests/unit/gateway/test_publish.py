"""Accepted records go to the producer in bounded batches; any failure means not accepted."""

from __future__ import annotations

import asyncio

from agents.gateway.connections import ClientConnections
from agents.gateway.publish import PUBLISH_BATCH, publish_all


class FakeProducer:
    """Acknowledges each record on the next turn of the loop; counts what is in flight."""

    def __init__(self, fail_at: int = -1) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.in_flight = self.most_in_flight = 0
        self.fail_at = fail_at

    async def send(self, topic, key, value, partition, timestamp, headers):  # noqa: ANN001 - Faust's signature
        self.sent.append((topic, key, value))
        future = asyncio.get_running_loop().create_future()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        failed = len(self.sent) - 1 == self.fail_at
        asyncio.get_running_loop().call_soon(self._ack, future, failed)
        return future

    def _ack(self, future: asyncio.Future, failed: bool) -> None:
        self.in_flight -= 1
        future.set_exception(OSError("broker gone")) if failed else future.set_result(None)


class FakeApp:
    def __init__(self, producer: FakeProducer) -> None:
        self.producer = producer

    async def maybe_start_producer(self) -> FakeProducer:
        return self.producer


async def test_every_record_is_sent_with_a_bounded_number_in_flight():
    producer = FakeProducer()
    records = [("svc", f"line {n}".encode()) for n in range(2 * PUBLISH_BATCH + 5)]
    assert await publish_all(FakeApp(producer), "logs.raw", records)
    assert producer.sent == [("logs.raw", b"svc", value) for _, value in records]
    assert producer.most_in_flight <= PUBLISH_BATCH


async def test_a_failed_record_means_the_request_was_not_accepted():
    producer = FakeProducer(fail_at=PUBLISH_BATCH + 3)
    assert not await publish_all(FakeApp(producer), "logs.raw", [(b"k", b"v")] * (2 * PUBLISH_BATCH))


def test_connections_are_counted_per_address_and_refusals_are_not():
    clients = ClientConnections(2)
    assert clients.open("10.0.0.1") and clients.open("10.0.0.1")
    assert not clients.open("10.0.0.1") and clients.count("10.0.0.1") == 2
    assert clients.open("10.0.0.2")
    clients.close("10.0.0.1")
    assert clients.open("10.0.0.1")
    unlimited = ClientConnections(0)
    assert all(unlimited.open("a") for _ in range(1000))
