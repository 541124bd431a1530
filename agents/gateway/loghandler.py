"""A `logging.Handler` that ships an application's errors to Logwarden's `POST /logs`.

Standard library only, so any Python application can copy or import it:

    handler = LogwardenHandler("http://logwarden:6066/logs", service="checkout")
    logging.getLogger().addHandler(handler)

Records are queued (bounded) and posted as NDJSON in batches by one daemon thread.
Must never block or raise into the application: when the queue is full a record is
dropped and counted; when Logwarden is down a batch is dropped and counted, and the
thread backs off instead of hammering it.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
import traceback
import urllib.request
from typing import Any

__all__ = ["LogwardenHandler"]

_STOP = object()


class LogwardenHandler(logging.Handler):
    def __init__(self, url: str, service: str, *, token: str = "", level: int = logging.ERROR,
                 batch_size: int = 100, flush_interval_s: float = 1.0, queue_size: int = 10_000,
                 timeout_s: float = 2.0, max_backoff_s: float = 30.0) -> None:
        super().__init__(level)
        self.url = url
        self.service = service
        self._token = token
        self.batch_size = max(1, batch_size)
        self.flush_interval_s = flush_interval_s
        self.timeout_s = timeout_s
        self.max_backoff_s = max_backoff_s
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
        self._host = socket.gethostname()
        self.dropped = 0  # records lost: queue full, or their batch could not be delivered
        self.sent = 0
        self.failed_batches = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="logwarden-log-shipper", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:  # never shows the token
        return f"<LogwardenHandler {self.service} -> {self.url}>"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._closed:
                self.dropped += 1
                return
            self._queue.put_nowait(self._line(record))
        except queue.Full:
            self.dropped += 1
        except Exception:  # a record that cannot be formatted must not hurt the application
            self.dropped += 1

    def _line(self, record: logging.LogRecord) -> bytes:
        entry: dict[str, Any] = {
            "ts": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
            "host": self._host,
            "module": record.module,
            "line": record.lineno,
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
            entry["stack"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str).encode()

    def _run(self) -> None:
        backoff = 0.0
        while True:
            batch, stop = self._next_batch()
            if batch:
                if self._post(batch):
                    self.sent += len(batch)
                    backoff = 0.0
                else:
                    self.failed_batches += 1
                    self.dropped += len(batch)
                    backoff = min(self.max_backoff_s, max(0.5, backoff * 2))
            if stop:
                return
            if backoff:
                # While Logwarden is down, records keep queueing (then dropping when full).
                time.sleep(backoff)

    def _next_batch(self) -> tuple[list[bytes], bool]:
        batch: list[bytes] = []
        deadline = time.monotonic() + self.flush_interval_s
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=max(0.0, remaining)) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _post(self, batch: list[bytes]) -> bool:
        headers = {"Content-Type": "application/x-ndjson"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(self.url, data=b"\n".join(batch) + b"\n",
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return 200 <= response.status < 300
        except Exception:
            return False

    def close(self, timeout_s: float = 5.0) -> None:
        """Flush what is queued (bounded by `timeout_s`), then stop the thread."""
        if not self._closed:
            self._closed = True
            try:
                self._queue.put(_STOP, timeout=timeout_s)
            except queue.Full:
                pass
            self._thread.join(timeout_s)
        super().close()
