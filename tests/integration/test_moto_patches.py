"""The speed fixes to moto keep its answers: queue counts, events delivered to a queue."""

from __future__ import annotations

import json

import boto3


def test_queue_counts_are_still_counted_after_sends_and_receives(aws):
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)
    assert len(got["Messages"]) == 2
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]  # fmt: skip
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    assert attributes == {names[0]: "3", names[1]: "2", names[2]: "1"}


def test_events_reach_a_queue_target_as_before(aws):
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    url = sqs.create_queue(QueueName="events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["loader"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
    for i in range(3):
        events.put_events(
            Entries=[{"Source": "loader", "DetailType": "t", "Detail": json.dumps({"i": i})}]
        )
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["detail"]["i"] for m in got) == [0, 1, 2]
