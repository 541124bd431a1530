"""Open connections per client address, and whether one more may open.

The web server asks before it serves a new connection and tells when one closes. Must
never count a connection it refused, so a refused client cannot push its own count up.
"""

from __future__ import annotations

__all__ = ["ClientConnections"]


class ClientConnections:
    """Counts per address; `limit` 0 means no limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def open(self, client: str) -> bool:
        """True: the connection is admitted and counted; False: over the limit, not counted."""
        count = self._open.get(client, 0)
        if self.limit and count >= self.limit:
            return False
        self._open[client] = count + 1
        return True

    def close(self, client: str) -> None:
        """An admitted connection of `client` closed."""
        count = self._open.get(client, 0) - 1
        if count > 0:
            self._open[client] = count
        else:
            self._open.pop(client, None)

    def count(self, client: str) -> int:
        return self._open.get(client, 0)
