"""moto's TransactWriteItems without copying tables: every condition is checked first, only the items
the transaction touches are copied, and those are put back if a write fails (moto deep-copies every
table it names). Installed by `loader.moto_dynamodb.apply`, under its lock."""

from __future__ import annotations

import copy
from typing import Any

from loader.moto_books import _book, _current, _lock


# -- transactions without copying tables -----------------------------------------------------
def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
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
