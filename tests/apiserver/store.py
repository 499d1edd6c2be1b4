"""In-memory object storage with etcd's ordering and resourceVersion semantics.

Objects are kept per resource as plain dicts, keyed by (namespace, name) and
listed in key order, as etcd lists `/registry/<resource>/<ns>/<name>`. Every
write bumps one cluster-wide resourceVersion; watchers read an event log.
"""
from __future__ import annotations

import base64
import copy
import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterator

from .errors import bad_request, gone

Key = tuple[str, str]  # (namespace or "", name)


@dataclass(frozen=True)
class Event:
    rv: int
    resource: str  # "group/plural"
    type: str  # ADDED, MODIFIED, DELETED
    obj: dict


class Store:
    def __init__(self, first_rv: int = 1000, history: int = 10000) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._rv = first_rv
        self._data: dict[str, dict[Key, dict]] = {}
        self._events: deque[Event] = deque(maxlen=history)

    # -- reads ---------------------------------------------------------------
    @property
    def rv(self) -> int:
        return self._rv

    def get(self, resource: str, namespace: str, name: str) -> dict | None:
        with self.lock:
            obj = self._data.get(resource, {}).get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def items(self, resource: str, namespace: str | None = None) -> list[dict]:
        """All objects of a resource (optionally in one namespace), in key order."""
        with self.lock:
            bucket = self._data.get(resource, {})
            keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
            return [copy.deepcopy(bucket[k]) for k in keys]

    def scan(self, resource: str, namespace: str | None = None) -> list[dict]:
        """Like items(), without copies: for read-only scans (objects are replaced, never changed)."""
        with self.lock:
            bucket = self._data.get(resource, {})
            return [bucket[k] for k in sorted(bucket) if namespace is None or k[0] == namespace]

    def list(self, resource: str, namespace: str | None, match: Callable[[dict], bool],
             limit: int = 0, continue_token: str = "") -> tuple[list[dict], int, str, int | None]:
        """A page of matching objects: (items, list rv, continue token, remaining count).

        The items are the stored dicts themselves, for reading only: stored objects
        are replaced on write, never changed in place, so a page stays consistent.
        """
        with self.lock:
            bucket = self._data.get(resource, {})
            keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
            start: Key | None = None
            list_rv = self._rv
            if continue_token:
                start, list_rv = _decode_continue(continue_token)
                if self._events and list_rv < self._events[0].rv - 1:
                    raise gone("The provided continue parameter is too old to display a "
                               "consistent list result. You can start a new list without "
                               "the continue parameter.")
            out: list[dict] = []
            last: Key | None = None
            more = False
            for key in keys:
                if start is not None and key <= start:
                    continue
                obj = bucket[key]
                if not match(obj):
                    continue
                if limit and len(out) >= limit:
                    more = True
                    break
                out.append(obj)
                last = key
            token = _encode_continue(last, list_rv) if more and last else ""
            remaining = None
            if more:
                remaining = sum(1 for k in keys if last is not None and k > last and match(bucket[k]))
            return out, list_rv, token, remaining

    def events_since(self, rv: int) -> list[Event]:
        with self.lock:
            if self._events and rv < self._events[0].rv - 1:
                raise gone(f"too old resource version: {rv} ({self._events[0].rv - 1})")
            return [e for e in self._events if e.rv > rv]

    # -- writes --------------------------------------------------------------
    def next_rv(self) -> int:
        with self.lock:
            self._rv += 1
            return self._rv

    def put(self, resource: str, obj: dict, event: str) -> dict:
        """Store obj (already validated), stamping a fresh resourceVersion."""
        with self.lock:
            rv = self.next_rv()
            obj["metadata"]["resourceVersion"] = str(rv)
            key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            self._data.setdefault(resource, {})[key] = copy.deepcopy(obj)
            self._events.append(Event(rv, resource, event, copy.deepcopy(obj)))
            self.changed.notify_all()
            return copy.deepcopy(obj)

    def delete(self, resource: str, namespace: str, name: str) -> dict | None:
        with self.lock:
            obj = self._data.get(resource, {}).pop((namespace, name), None)
            if obj is None:
                return None
            rv = self.next_rv()
            obj["metadata"]["resourceVersion"] = str(rv)
            self._events.append(Event(rv, resource, "DELETED", copy.deepcopy(obj)))
            self.changed.notify_all()
            return copy.deepcopy(obj)

    def resources(self) -> Iterator[str]:
        with self.lock:
            return iter(list(self._data))


def _encode_continue(key: Key, rv: int) -> str:
    start = f"{key[0]}/{key[1]}\x00" if key[0] else f"{key[1]}\x00"
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[Key, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        start = data["start"].rstrip("\x00")
        ns, _, name = start.rpartition("/")
        return (ns, name), int(data["rv"])
    except (ValueError, KeyError, TypeError):
        raise bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                          "(version meta.k8s.io/v1)")
