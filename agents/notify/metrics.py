"""Prometheus metrics of the notify stage, registered once in the default registry
(the shell serves it on /metrics). Labels are channel names, kinds and short reasons,
never message text or anything that could carry a secret.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = [
    "DELIVERY_SECONDS",
    "DUPLICATES_SKIPPED",
    "FAILED",
    "POSSIBLE_DUPLICATES",
    "RETRIES",
    "SENT",
]

SENT = Counter("logwarden_notify_sent", "Messages delivered", ["channel", "kind"])
FAILED = Counter("logwarden_notify_failed", "Deliveries that finally failed", ["channel", "reason"])
RETRIES = Counter("logwarden_notify_retries", "Attempts repeated after a retryable failure",
                  ["channel", "reason"])
DUPLICATES_SKIPPED = Counter("logwarden_notify_duplicates_skipped",
                             "Redelivered outbox records not sent again", ["channel"])
# A record whose earlier attempt may have reached a channel that cannot deduplicate
# (webhook, email, ntfy, console, new chat messages) is sent again and counted here.
POSSIBLE_DUPLICATES = Counter("logwarden_notify_possible_duplicates",
                              "Resends after a crash that the vendor cannot deduplicate", ["channel"])
DELIVERY_SECONDS = Histogram("logwarden_notify_delivery_seconds",
                             "From the first attempt to the final outcome", ["channel"],
                             buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300))
