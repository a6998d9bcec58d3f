"""The tables' keys and indexes: one definition for the CDK stack, the local stack and the tests."""

from __future__ import annotations

from dataclasses import dataclass

from shared import names

S, N = "S", "N"
MAX_RECEIVE_COUNT = names.MAX_RECEIVE_COUNT


@dataclass(frozen=True)
class Key:
    partition: tuple[str, str]
    sort: tuple[str, str] | None = None


@dataclass(frozen=True)
class TableSpec:
    key: Key
    indexes: dict[str, Key]


JOBS = TableSpec(
    key=Key(("job_id", S)),
    indexes={
        names.JOBS_BY_KEY_INDEX: Key(("source_key", S), ("created_at", S)),
        names.JOBS_BY_TIME_INDEX: Key(("kind", S), ("created_at", S)),
    },
)
RECORDS = TableSpec(
    key=Key(("job_id", S), ("seq", N)),
    indexes={names.RECORDS_STATUS_INDEX: Key((names.RECORDS_STATUS_ATTRIBUTE, S), ("seq", N))},
)


def create_table_args(name: str, spec: TableSpec) -> dict[str, object]:
    """boto3 CreateTable arguments (on-demand, every index projecting all attributes)."""

    def schema(key: Key) -> list[dict[str, str]]:
        out = [{"AttributeName": key.partition[0], "KeyType": "HASH"}]
        if key.sort:
            out.append({"AttributeName": key.sort[0], "KeyType": "RANGE"})
        return out

    attributes: dict[str, str] = {}
    for key in (spec.key, *spec.indexes.values()):
        for attr in (key.partition, key.sort):
            if attr:
                attributes[attr[0]] = attr[1]
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": schema(spec.key),
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": t} for a, t in attributes.items()
        ],
        "GlobalSecondaryIndexes": [
            {"IndexName": index, "KeySchema": schema(key), "Projection": {"ProjectionType": "ALL"}}
            for index, key in spec.indexes.items()
        ],
    }
