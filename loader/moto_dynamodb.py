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
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.RLock()
_applied = False

Pk = tuple[Any, Any]  # an item's (hash DynamoType, range DynamoType or None)


def apply() -> None:
    global _applied
    with _lock:
        if _applied:
            return
        from moto.dynamodb import responses
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import Table

        call_action = responses.DynamoHandler.call_action

        def locked_call_action(self: Any) -> Any:
            with _lock:
                return call_action(self)

        responses.DynamoHandler.call_action = locked_call_action  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
        _keep_books(Table, DynamoDBBackend)
        _applied = True


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


def _refresh_key(backend: Any, table_name: str, key: dict[str, Any]) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = backend.tables.get(table_name)
    book = _book(table, build=False) if table is not None else None
    if book is None or table.hash_key_attr not in key:
        return
    range_attr = table.range_key_attr
    range_key = DynamoType(key[range_attr]) if range_attr and range_attr in key else None
    book.refresh(DynamoType(key[table.hash_key_attr]), range_key)


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


# -- transactions without copying tables -----------------------------------------------------
def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models.dynamo_type import DynamoType

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with _lock:
        seen: set[tuple[str, str]] = set()
        errors: list[tuple[Any, Any, Any]] = []
        planned: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(entry.items()))
            original_item = None
            try:
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                key = _op_key(self, op_type, op)
                marker = (str(table_name), str(dict(sorted(key.items()))))
                if marker in seen:
                    raise MultipleTransactionsException()
                seen.add(marker)
                current = self.get_item(table_name, key)
                condition = op.get("ConditionExpression")
                if condition is not None:
                    check = get_filter_expression(
                        condition,
                        op.get("ExpressionAttributeNames"),
                        op.get("ExpressionAttributeValues"),
                    )
                    if not check.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)
                planned.append((op_type, op, table_name, key))
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as exc:
                errors.append(("ConditionalCheckFailed", str(exc.message), original_item))
            except Exception as exc:  # reported as the item's cancellation reason
                errors.append((type(exc).__name__, str(exc), None))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        saved = []
        for _op_type, _op, table_name, key in planned:
            table = self.get_table(table_name)
            hash_key = DynamoType(key[table.hash_key_attr])
            range_attr = table.range_key_attr
            range_key = DynamoType(key[range_attr]) if range_attr else None
            before = _current(table, hash_key, range_key)
            saved.append((table, hash_key, range_key, copy.deepcopy(before)))
        for n, (op_type, op, table_name, key) in enumerate(planned):
            try:
                _write(self, op_type, op, table_name, key)
            except Exception as exc:
                _restore(saved)
                if isinstance(exc, (MultipleTransactionsException, MockValidationException)):
                    raise
                reasons: list[tuple[Any, Any, Any]] = [(None, None, None)] * len(planned)
                reasons[n] = (type(exc).__name__, str(exc), None)
                raise TransactionCanceledException(reasons) from exc


def _op_key(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    attrs = op["Item"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _write(backend: Any, op_type: str, op: dict[str, Any], table_name: str, key: Any) -> None:
    common = {
        "condition_expression": op.get("ConditionExpression"),
        "expression_attribute_names": op.get("ExpressionAttributeNames"),
        "expression_attribute_values": op.get("ExpressionAttributeValues"),
    }
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **common)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **common)
    elif op_type == "Update":
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **common)


def _restore(saved: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_key, range_key, before in saved:
        if range_key is None:
            if before is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = before
        else:
            partition = table.items[hash_key]
            if before is None:
                partition.pop(range_key, None)
            else:
                partition[range_key] = before
        book = _book(table, build=False)
        if book is not None:
            book.refresh(hash_key, range_key)
