"""moto's DynamoDB made atomic and cheap, for the tests and the local stack (moto is not used in
production).

Atomic: moto's server serves requests on threads, and its UpdateItem reads, changes and writes an
item in Python with no lock, so two concurrent `ADD n :one` can both read the old value and one
increment is lost (16 ranges of one job adding their counts to the job's item lost 618 records'
worth on a busy machine). DynamoDB applies each write to an item atomically; here every DynamoDB
request runs under one lock, which is what the local stack's modest load needs.

Cheap: moto's TransactWriteItems deep-copies every table it names before it starts (to roll back),
so each transaction costs as much as everything the stack ever stored; here it checks every
condition first, copies only the items it touches, and rolls those back if a write fails. moto's
Query sorts every item of the table (of every job, for an index) for each page; here each table
keeps its partitions' keys, and each global index's, in sorted lists that writes keep up to date, so
a page costs the page (plus a binary search), not the table.
"""

from __future__ import annotations

import bisect
import copy
from collections.abc import Callable
from typing import Any

from loader.moto_books import _Book, _book, _lock, _refresh_key
from loader.moto_transactions import transact_write_items


def apply() -> None:
    """Install the patches (once: `loader.moto_patches.apply` guards it)."""
    from moto.dynamodb import responses
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    call_action = responses.DynamoHandler.call_action

    def locked_call_action(self: Any) -> Any:
        with _lock:
            return call_action(self)

    responses.DynamoHandler.call_action = locked_call_action  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _keep_books(Table, DynamoDBBackend)


_BOUNDS: dict[str, Callable[[list[Any], list[Any]], tuple[int, int]]] = {
    "=": lambda e, v: (_left(e, v[0]), _right(e, v[0])),
    "<": lambda e, v: (0, _left(e, v[0])),
    "<=": lambda e, v: (0, _right(e, v[0])),
    ">": lambda e, v: (_right(e, v[0]), len(e)),
    ">=": lambda e, v: (_left(e, v[0]), len(e)),
    "BETWEEN": lambda e, v: (_left(e, v[0]), _right(e, v[1])),
    "BEGINS_WITH": lambda e, v: (_left(e, v[0]), _right_prefix(e, v[0])),
}


def _left(entries: list[Any], value: Any) -> int:
    return bisect.bisect_left(entries, value, key=lambda e: e[0])


def _right(entries: list[Any], value: Any) -> int:
    return bisect.bisect_right(entries, value, key=lambda e: e[0])


def _right_prefix(entries: list[Any], prefix: Any) -> int:
    at = _left(entries, prefix)
    while at < len(entries) and str(entries[at][0]).startswith(str(prefix)):
        at += 1
    return at


def _keep_books(table_class: Any, backend_class: Any) -> None:
    put_item, delete_item = table_class.put_item, table_class.delete_item
    update_item, query = backend_class.update_item, table_class.query

    def put(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        item = put_item(self, item_attrs, *args, **kwargs)
        book = _book(self, build=False)
        if book is not None:
            book.refresh(item.hash_key, item.range_key)
        return item

    def delete(self: Any, hash_key: Any, range_key: Any) -> Any:
        item = delete_item(self, hash_key, range_key)
        book = _book(self, build=False)
        if book is not None:
            book.refresh(hash_key, range_key)
        return item

    def update(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return update_item(self, table_name, key, *args, **kwargs)
        finally:  # an update changes the item in place (or creates it): its index keys may move
            _refresh_key(self, table_name, key)

    table_class.put_item = put
    table_class.delete_item = delete
    backend_class.update_item = update
    table_class.query = _fast_query(query)


def _fast_query(original: Callable[..., Any]) -> Callable[..., Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT

    def query(
        self: Any,
        hash_key: Any,
        range_comparison: str | None,
        range_objs: list[Any],
        limit: int | None,
        exclusive_start_key: dict[str, Any] | None,
        scan_index_forward: bool,
        projection_expressions: Any,
        index_name: str | None = None,
        consistent_read: bool = False,
        filter_expression: Any = None,
        hash_key_conditions: list[tuple[str, Any]] | None = None,
        range_key_conditions: list[tuple[str, str, list[Any]]] | None = None,
        **filter_kwargs: Any,
    ) -> Any:
        args = (hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                scan_index_forward, projection_expressions, index_name, consistent_read,
                filter_expression)  # fmt: skip
        book = _book(self)
        assert book is not None
        layout = book.layouts.get(index_name)
        conditions = hash_key_conditions or []
        global_index = index_name is not None and any(
            i.name == index_name for i in self.global_indexes or []
        )
        usable = (
            layout is not None
            and not filter_kwargs
            and len(range_key_conditions or []) <= 1
            and (index_name is None or (global_index and not consistent_read))
            and (not range_comparison or layout[1] is not None)
            and range_comparison in (None, *_BOUNDS)
        )
        if usable and index_name is not None:
            usable = len(conditions) == 1 and conditions[0][0] == layout[0]  # type: ignore[index]
            hash_key = conditions[0][1] if usable else hash_key
        if not usable or hash_key is None:
            return original(self, *args, hash_key_conditions=hash_key_conditions,
                            range_key_conditions=range_key_conditions, **filter_kwargs)  # fmt: skip
        entries = book.lists.get((index_name, hash_key.cast_value), [])
        lo, hi = 0, len(entries)
        if range_comparison:
            lo, hi = _BOUNDS[range_comparison](entries, [o.cast_value for o in range_objs])
        if exclusive_start_key:
            start = _start_entry(book, index_name, exclusive_start_key, DynamoType)
            if scan_index_forward:
                lo = max(lo, bisect.bisect_right(entries, start))
            else:
                hi = min(hi, bisect.bisect_left(entries, start))
        positions = range(lo, hi) if scan_index_forward else range(hi - 1, lo - 1, -1)
        results: list[Any] = []
        size, last_key = 0, None
        for at in positions:
            item = book.item(entries[at])
            if range_comparison == "BEGINS_WITH" and not item.attrs[layout[1]].compare(  # type: ignore[index]
                range_comparison, range_objs
            ):
                continue
            if (limit is not None and len(results) == limit) or (
                results and size + item.size() > RESULT_SIZE_LIMIT
            ):
                last_key = self._get_last_evaluated_key(results[-1], index_name)
                break
            results.append(item)
            size += item.size()
        scanned = len(results)
        results = copy.deepcopy(results)
        if index_name:
            index = self.get_index(index_name)
            results = [index.project(r) for r in results]
        if filter_expression is not None:
            results = [r for r in results if filter_expression.expr(r)]
        if projection_expressions:
            results = [r.project(projection_expressions) for r in results]
        return results, scanned, last_key

    return query


def _start_entry(
    book: _Book, index_name: str | None, start: dict[str, Any], dynamo_type: Any
) -> tuple[Any, ...]:
    table = book.table

    def value(attr: str | None) -> Any:
        return dynamo_type(start[attr]).cast_value if attr and attr in start else None

    range_attr = book.layouts[index_name][1]
    tail = (value(table.hash_key_attr), value(table.range_key_attr))
    return (value(range_attr), *tail)
