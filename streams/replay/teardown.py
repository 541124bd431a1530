"""The end of a replay: its topics and consumer groups deleted from the broker.

A replay's namespace is every topic under its prefix (`replay.<id>.`), the changelogs and
internal topics of its worker's app id (`logwarden-replay-<id>-...`), and the consumer
groups of that app id (Faust's and the two batch loops'). Nothing else is touched: the
names are listed from the broker and kept only when they are the namespace's own.
"""

from __future__ import annotations

from aiokafka.protocol.admin import DeleteGroupsRequest

from streams.kafka import client
from streams.replay.namespace import Namespace

__all__ = ["BATCH_GROUPS", "delete_namespace", "namespace_groups", "namespace_topics"]

BATCH_GROUPS = ("extract", "windows")  # `<app_id>-<name>`: the batch loops' groups (streams.kafka.batch)


def namespace_topics(ns: Namespace, topics: list[str]) -> list[str]:
    return sorted(t for t in topics if t.startswith((ns.prefix, ns.app_id + "-")))


def namespace_groups(ns: Namespace) -> list[str]:
    return [ns.app_id, *(f"{ns.app_id}-{name}" for name in BATCH_GROUPS)]


async def delete_namespace(broker: str, ns: Namespace) -> tuple[list[str], list[str], list[str]]:
    """Delete the namespace's topics and groups. Returns (topics deleted, groups deleted,
    problems): a group the broker would not delete is named in the problems, never raised
    (the report is written by then; topics are what holds the broker's memory and disk)."""
    admin = await client.started(client.admin(broker), broker)
    problems: list[str] = []
    try:
        topics = namespace_topics(ns, await admin.list_topics())
        if topics:
            await admin.delete_topics(topics)
        deleted: list[str] = []
        for group in namespace_groups(ns):
            try:
                node = await admin.find_coordinator(group)
                # aiokafka 0.14 has no admin call for DeleteGroups (API 42): the request itself.
                response = await admin._send_request_to_node(node, DeleteGroupsRequest([group]))  # noqa: SLF001
                for name, code in response.results:
                    if code == 0:
                        deleted.append(name)
                    elif code != 69:  # GROUP_ID_NOT_FOUND: never created (an empty replay)
                        problems.append(f"group {name}: error code {code}")
            except Exception as exc:  # noqa: BLE001 - a broker without DeleteGroups: said, not raised
                problems.append(f"group {group}: {exc.__class__.__name__}")
        return topics, deleted, problems
    finally:
        await client.quiet_stop(admin)
