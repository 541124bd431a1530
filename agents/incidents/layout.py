"""How one service's state is laid out in the changelogged `incident-states` table.

A `ServiceState` holds an incident with its findings (samples included), decisions and
timeline, a registry of up to 500 known issues, the fingerprints seen, the closed
incidents. Stored whole under the service's key, every event rewrote all of it: at
2,000 lines/s over 20 services, 1,564 writes and 101 MB of changelog in 5 minutes,
values up to 160 KB, for changes of a few hundred bytes (`ops/bench/state_writes.py`).

So the state is split into parts, each under its own key, and a part is written only
when its content changed (`changed_parts`):

- the core, under the service's own key: counters, clock, pending AI requests, the
  redelivery guard, approvals and fixes (the approvals API reads them there), the
  incident's scalar fields, and `_parts`, the list of the other parts' keys;
- `<service>\\x1fregistry/<b>`, `fingerprints/<b>`, `findings/<b>`: dictionaries split
  into `BUCKETS` buckets by a stable hash of their keys (an entry's change rewrites
  its bucket, not the registry); an incident's findings and decisions share the
  bucket of their fingerprint;
- `<service>\\x1ftimeline/<id>`: the timeline in chunks cut by content (an entry whose
  hash is 0 mod `CHUNK_EVERY` ends a chunk, `CHUNK_MAX` at most), so an appended entry
  rewrites only the last chunk and dropping entries from the middle rewrites only the
  chunk they were in; a chunk's key is named by its first entry;
- `<service>\\x1ftexts` (the incident's summary and report) and `closed`.

A part that is gone is deleted (a `None` value: a tombstone). A core written before
this layout (the whole state under the service's key) still reads: what it holds is
taken as it is, and the next write splits it. Keys with `SEP` are parts: readers of
the table iterate `cores`. Pure: no Faust, no I/O.

A fold's writes are one change, whatever a kill leaves of them. Faust sends them in
order on the service's changelog partition and flushes them before it commits the
input, so a worker killed in the middle leaves a prefix of them, and the input comes
again after the restart. Parts are therefore written copy-on-write: a changed part goes
under a new key, `<service>\x1f<name>#<v>` with `v` the core's next version (`_v`);
the core, written after them, names the version of each of its parts (`_at`, in the
order of `part_names`), and the keys it replaced are deleted after it. A kill before
the core leaves the old core naming the old parts, all still there: the redelivered
input is folded again from the state before it. A kill after the core leaves the new
state whole. What a kill leaves that no core names (new parts without their core, old
ones without their delete) is deleted at the service's first fold after the restart
(`fold.StateCache.leftovers`, one pass over the table: `keys_by_service`). Parts
written before versions (no `_at`) keep their plain keys until they change.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from agents.incidents.state import ServiceState

__all__ = ["BUCKETS", "SEP", "as_read", "changed_parts", "cores", "is_part", "join", "keys_by_service", "load",
           "may_fall_due", "part_keys", "part_names", "read_state", "read_states", "same_core", "split"]

SEP = "\x1f"  # unit separator: never part of a service name that reaches a key
BUCKETS = 16
CHUNK_EVERY = 8
CHUNK_MAX = 32
PARTS = "_parts"  # in the core: section -> bitmask of the buckets it has (1 for a single part)
ORDER = "_order"  # in an incident core: its findings' keys in order (and the others', when different)
TIMELINE = "_timeline"  # in an incident core: its timeline chunks' names in order
VERSION = "_v"  # in the core: its version, one more at each write that changed a part or it
AT = "_at"  # in the core: the version each part was written at, in `part_names` order (0: a plain key)
_BUCKETED = ("registry", "fingerprints_seen", "pending")  # ServiceState dictionaries split into buckets
_BY_FINGERPRINT = ("findings", "decisions", "provisional")  # an incident's, bucketed by fingerprint
_SINGLE = ("closed", "texts")
_TEXTS = ("summary_text", "report_text")


def _hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _bucket(key: str) -> int:
    return _hash(key) % BUCKETS


def is_part(key: str) -> bool:
    return SEP in key


def _chunks(timeline: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    out: list[tuple[str, list[dict[str, Any]]]] = []
    current: list[dict[str, Any]] = []
    names: set[str] = set()
    for entry in timeline:
        current.append(entry)
        digest = _hash(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS).decode())
        if digest % CHUNK_EVERY == 0 or len(current) >= CHUNK_MAX:
            out.append((_chunk_name(current[0], names), current))
            current = []
    if current:
        out.append((_chunk_name(current[0], names), current))
    return out


def _chunk_name(first: dict[str, Any], taken: set[str]) -> str:
    base = f"timeline/{_hash(orjson.dumps(first, option=orjson.OPT_SORT_KEYS).decode()):08x}"
    name, n = base, 1
    while name in taken:  # two chunks opening with the same entry (same time, same text)
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


def _names(manifest: Mapping[str, int]) -> list[str]:
    names = []
    for section, mask in sorted(manifest.items()):
        if section in _SINGLE:
            names.append(section)
        else:
            names += [f"{section}/{b}" for b in range(BUCKETS) if mask >> b & 1]
    return names


def split(state: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Key -> value of every part of `state` (a `ServiceState` dumped to JSON types)."""
    service = state["service"]
    core = dict(state)
    parts: dict[str, dict[str, Any]] = {}
    manifest: dict[str, int] = {}

    def section_of(section: str, key: str, field: str) -> dict[str, Any]:
        bucket = _bucket(key)
        manifest[section] = manifest.get(section, 0) | 1 << bucket
        name = f"{section}/{bucket}"
        return parts.setdefault(f"{service}{SEP}{name}", {"_part": name}).setdefault(field, {})

    for section in _BUCKETED:
        for key, value in (core.pop(section, None) or {}).items():
            section_of(section, key, section)[key] = value
    closed = core.pop("closed", None)
    if closed:
        parts[f"{service}{SEP}closed"] = {"_part": "closed", "closed": closed}
        manifest["closed"] = 1
    incident = core.get("incident")
    if incident:
        incident = core["incident"] = dict(incident)
        order: dict[str, list[str]] = {}
        for field in _BY_FINGERPRINT:
            values = incident.pop(field, None) or {}
            keys = list(values)  # the reducer's order: titles and texts list findings in it
            if field == "findings" or keys != [k for k in order["findings"] if k in values]:
                order[field] = keys
            for fp, value in values.items():  # a decision changes without its finding: apart
                section_of("decisions" if field == "decisions" else "findings", fp, field)[fp] = value
        incident[ORDER] = order
        chunks = _chunks(incident.pop("timeline", None) or [])
        for name, chunk in chunks:
            parts[f"{service}{SEP}{name}"] = {"_part": name, "timeline": chunk}
        incident[TIMELINE] = [name for name, _chunk in chunks]
        texts = {name: incident.pop(name) for name in _TEXTS if name in incident}
        if any(texts.values()):
            parts[f"{service}{SEP}texts"] = {"_part": "texts", "texts": texts}
            manifest["texts"] = 1
    core[PARTS] = manifest
    return {service: core, **parts}


def part_names(core: Mapping[str, Any]) -> list[str]:
    """The names of the parts a core says its state has (`[]` for one written whole)."""
    incident = core.get("incident") or {}
    return [*_names(core.get(PARTS) or {}), *incident.get(TIMELINE, [])]


def _key(service: str, name: str, version: int) -> str:
    return f"{service}{SEP}{name}#{version}" if version else f"{service}{SEP}{name}"


def _versions(core: Mapping[str, Any]) -> dict[str, int]:
    """Part name -> the version it was written at (0: a plain key, written before versions)."""
    names = part_names(core)
    at = core.get(AT) or []
    return {name: at[i] if i < len(at) else 0 for i, name in enumerate(names)}


def part_keys(core: Mapping[str, Any]) -> list[str]:
    """The table keys of the parts a core names."""
    service = core["service"] if PARTS in core else ""
    return [_key(service, name, v) for name, v in _versions(core).items()]


def join(core: Mapping[str, Any], get: Any) -> dict[str, Any]:
    """The whole state (JSON types) from its core and `get(key)` of its parts."""
    state = dict(core)
    if PARTS not in state:  # written whole, before this layout
        return state
    service = state["service"]
    parts = {name: get(_key(service, name, v)) or {} for name, v in _versions(state).items()}
    del state[PARTS]
    state.pop(VERSION, None)
    state.pop(AT, None)
    for section in _BUCKETED:
        merged: dict[str, Any] = {}
        for name, part in parts.items():
            if name.startswith(section + "/"):
                merged.update(part.get(section) or {})
        state[section] = dict(sorted(merged.items()))
    state["closed"] = parts.get("closed", {}).get("closed", [])
    incident = state.get("incident")
    if incident:
        incident = state["incident"] = dict(incident)
        order = incident.pop(ORDER, {})
        for field in _BY_FINGERPRINT:
            merged = {}
            for name, part in parts.items():
                if name.startswith(("findings/", "decisions/")):
                    merged.update(part.get(field) or {})
            keys = order.get(field) or order.get("findings") or []
            incident[field] = {fp: merged[fp] for fp in keys if fp in merged}
            incident[field].update({fp: merged[fp] for fp in sorted(merged) if fp not in incident[field]})
        incident["timeline"] = [entry for name in incident.pop(TIMELINE, [])
                                for entry in parts.get(name, {}).get("timeline", [])]
        incident.update(parts.get("texts", {}).get("texts", {}))
    return state


def read_state(table: Mapping[str, Any], service: str) -> dict[str, Any] | None:
    """A service's whole state as JSON types (what readers that take raw states want), or None."""
    core = table.get(service)
    return join(core, table.get) if core else None


def read_states(table: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every whole state in `table` (this worker's partitions), as JSON types."""
    return [join(core, table.get) for _service, core in cores(list(table.items()))]


def as_read(state: ServiceState) -> ServiceState:
    """`state` as `load` would give it back after it is stored: the dictionaries kept in
    buckets in key order (`join`), so a state kept in memory decides exactly as one read
    from the table (the registry's order picks among candidates of equal score)."""
    for section in _BUCKETED:
        value = getattr(state, section)
        if list(value) != sorted(value):
            setattr(state, section, dict(sorted(value.items())))
    return state


def load(table: Mapping[str, Any], service: str) -> ServiceState | None:
    core = table.get(service)
    if not core:
        return None
    return ServiceState.model_validate(join(core, table.get))


def may_fall_due(core: Any, partition: int, at: float) -> bool:
    """Whether a clock tick at `at` on `partition` may decide something for the state whose
    core is `core`: one with a pending AI request or an incident, on that partition,
    behind the tick (`clock.py`)."""
    return (isinstance(core, dict) and core.get("partition") == partition and at > core.get("clock", 0.0)
            and bool(core.get("pending") or (core.get(PARTS) or {}).get("pending") or core.get("incident")))


def cores(items: Iterator[tuple[str, Any]] | Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """The (service, core) pairs among a table's items, parts left out."""
    for key, value in items:
        if value and not is_part(key):
            yield key, value


def same_core(old: Mapping[str, Any] | None, new: Mapping[str, Any], *fields: str) -> bool:
    """Whether two cores hold the same state, their versions aside (and `fields`)."""
    if not old:
        return False
    ignored = dict.fromkeys((VERSION, *fields))
    return {**old, **ignored} == {**new, **ignored}


def keys_by_service(table: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every service with a core in `table`, and the part keys under its name (one pass)."""
    out: dict[str, list[str]] = {}
    for key, value in list(table.items()):
        if SEP in key:
            out.setdefault(key.split(SEP, 1)[0], []).append(key)
        elif value:
            out.setdefault(key, [])
    return out


def changed_parts(table: Mapping[str, Any], state: Mapping[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """(key, value) to write for `state` against what `table` holds, in the order they
    must reach the changelog: the parts whose content changed (under new keys), then the
    core, then `None` for the keys it no longer names (the replaced and the gone parts)."""
    service = state["service"]
    new = split(state)
    core = new.pop(service)
    old_core = table.get(service) or {}
    old = _versions(old_core) if PARTS in old_core else {}
    version = (old_core.get(VERSION) or 0) + 1
    writes: list[tuple[str, dict[str, Any] | None]] = []
    drop: list[str] = []
    versions: dict[str, int] = {}
    for key, value in new.items():
        name = key.split(SEP, 1)[1]
        if name in old and table.get(before := _key(service, name, old[name])) == value:
            versions[name] = old[name]
            continue
        writes.append((_key(service, name, version), value))
        versions[name] = version
        if name in old and before in table:
            drop.append(before)
    drop += [key for name, v in old.items() if name not in versions and (key := _key(service, name, v)) in table]
    core[AT] = [versions[name] for name in part_names(core)]
    if writes or not same_core(old_core, core):
        core[VERSION] = version
        writes.append((service, core))
    return writes + [(key, None) for key in drop]
