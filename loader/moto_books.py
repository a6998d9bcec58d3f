"""The sorted books of moto's DynamoDB tables: each table keeps its partitions' keys, and each global
index's, in sorted lists that writes keep up to date (a query page costs the page, not the table),
and the one lock every patched request runs under."""

from __future__ import annotations

import bisect
import threading
from typing import Any

_lock = threading.RLock()

Pk = tuple[Any, Any]  # an item's (hash DynamoType, range DynamoType or None)


# -- the sorted books -------------------------------------------------------------------------
class _Book:
    """One table's item keys in sorted lists: per partition of the table, and per partition of each
    global index. An entry is a tuple of sort values ending with the table's hash and range values,
    so it names its item and ties sort as DynamoDB sorts them."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.layouts: dict[str | None, tuple[str, str | None]] = {
            None: (table.hash_key_attr, table.range_key_attr)
        }
        for index in table.global_indexes or []:
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
            if len(hashes) == 1 and len(ranges) <= 1:
                self.layouts[index.name] = (hashes[0], ranges[0] if ranges else None)
        self.lists: dict[tuple[str | None, Any], list[tuple[Any, ...]]] = {}
        self.where: dict[tuple[Any, Any], dict[str | None, tuple[Any, tuple[Any, ...]]]] = {}
        self.pks: dict[tuple[Any, Any], Pk] = {}
        for item in table.all_items():
            self.refresh(item.hash_key, item.range_key)

    def _entry(self, item: Any, name: str | None) -> tuple[Any, tuple[Any, ...]] | None:
        hash_attr, range_attr = self.layouts[name]
        hash_value = item.attrs.get(hash_attr)
        if hash_value is None:
            return None  # not in this index (a sparse index leaves such items out)
        tail = (_sort_value(item.hash_key), _sort_value(item.range_key))
        if range_attr is None:
            return hash_value.cast_value, (None, *tail)
        range_value = item.attrs.get(range_attr)
        if range_value is None:
            return None
        return hash_value.cast_value, (range_value.cast_value, *tail)

    def refresh(self, hash_key: Any, range_key: Any) -> None:
        """Put the item at this key (or its absence) in every list."""
        names = (_sort_value(hash_key), _sort_value(range_key))
        for name, (partition, entry) in self.where.pop(names, {}).items():
            entries = self.lists.get((name, partition), [])
            at = bisect.bisect_left(entries, entry)
            if at < len(entries) and entries[at] == entry:
                del entries[at]
        item = _current(self.table, hash_key, range_key)
        if item is None:
            self.pks.pop(names, None)
            return
        self.pks[names] = (item.hash_key, item.range_key)
        placed: dict[str | None, tuple[Any, tuple[Any, ...]]] = {}
        for name in self.layouts:
            found = self._entry(item, name)
            if found is None:
                continue
            partition, entry = found
            bisect.insort(self.lists.setdefault((name, partition), []), entry)
            placed[name] = found
        self.where[names] = placed

    def item(self, entry: tuple[Any, ...]) -> Any:
        hash_key, range_key = self.pks[(entry[-2], entry[-1])]
        return _current(self.table, hash_key, range_key)


def _sort_value(value: Any) -> Any:
    return None if value is None else value.cast_value


def _current(table: Any, hash_key: Any, range_key: Any) -> Any:
    found = table.items.get(hash_key)  # .get: `items` is a defaultdict, and a lookup would add
    if found is None or range_key is None:
        return None if isinstance(found, dict) else found
    return found.get(range_key)


def _book(table: Any, build: bool = True) -> _Book | None:
    book = table.__dict__.get("_loader_book")
    if book is None and build:
        book = table.__dict__["_loader_book"] = _Book(table)
    return book


def _refresh_key(backend: Any, table_name: str, key: dict[str, Any]) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = backend.tables.get(table_name)
    book = _book(table, build=False) if table is not None else None
    if book is None or table.hash_key_attr not in key:
        return
    range_attr = table.range_key_attr
    range_key = DynamoType(key[range_attr]) if range_attr and range_attr in key else None
    book.refresh(DynamoType(key[table.hash_key_attr]), range_key)
