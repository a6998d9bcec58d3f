"""The properties of the stack that matter: wiring, dead-letter queues, handlers, auth, alarms, policies."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from infra.packaging import POWERTOOLS_VERSION, RUNTIME
from shared import names


def _ref_logical_id(value) -> str:
    return value.get("Ref") or value["Fn::GetAtt"][0]


def _functions(synth):
    return {p["Properties"]["Handler"]: (lid, p["Properties"]) for lid, p in synth.resources("AWS::Lambda::Function").items()
            if p["Properties"].get("Handler", "").startswith("lambdas.")}  # fmt: skip


def test_uploads_under_the_incoming_prefix_notify_the_ingest_queue(synth):
    [notification] = synth.resources("Custom::S3BucketNotifications").values()
    [config] = notification["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert config["Filter"] == {
        "Key": {"FilterRules": [{"Name": "prefix", "Value": names.INCOMING_PREFIX}]}
    }
    queue = _ref_logical_id(config["QueueArn"])
    assert queue.startswith("IngestQueue") and "Dlq" not in queue


def test_both_queues_have_a_dead_letter_queue_and_a_visibility_just_past_the_lease(synth):
    queues = synth.resources("AWS::SQS::Queue")
    fed = {lid: q["Properties"] for lid, q in queues.items() if "RedrivePolicy" in q["Properties"]}
    assert len(fed) == 2
    for prefix, consumer_timeout in (("IngestQueue", 900), ("RetryQueue", 300)):
        [props] = [p for lid, p in fed.items() if lid.startswith(prefix)]
        assert props["RedrivePolicy"]["maxReceiveCount"] == 5
        dlq = _ref_logical_id(props["RedrivePolicy"]["deadLetterTargetArn"])
        assert dlq.startswith(prefix + "Dlq") and dlq in queues
        # past the killed invocation's lease (timeout + 60 s grace), yet minutes, not hours
        assert consumer_timeout + 60 < props["VisibilityTimeout"] <= consumer_timeout + 180
        assert props["SqsManagedSseEnabled"] is True
        # the dead letters' consumer sees each again hourly at most (Lambda: at least its timeout)
        assert queues[dlq]["Properties"]["VisibilityTimeout"] == 3600


def test_queues_and_buckets_refuse_plain_http(synth):
    for kind in ("AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy"):
        policies = synth.resources(kind)
        assert policies
        for policy in policies.values():
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            assert any(
                s["Effect"] == "Deny"
                and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                for s in statements
            )


def test_each_function_has_its_handler_runtime_and_configuration(synth):
    functions = _functions(synth)
    assert set(functions) == {f"lambdas.{n}.handler.handler" for n in ("ingest", "retry", "api")}
    for _, props in functions.values():
        assert props["Runtime"] == RUNTIME.name and props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        env = props["Environment"]["Variables"]
        for var in (names.ENV_BUCKET, names.ENV_STREAM, names.ENV_JOBS_TABLE, names.ENV_RECORDS_TABLE,
                    names.ENV_RETRY_QUEUE_URL):  # fmt: skip
            assert var in env
        assert len(props["Layers"]) == 2  # Powertools (public, from SSM) and our dependencies
    ingest = functions["lambdas.ingest.handler.handler"][1]
    assert ingest["Timeout"] == 900 and ingest["RecursiveLoop"] == "Allow"
    assert names.ENV_INGEST_QUEUE_URL in ingest["Environment"]["Variables"]  # its continuations


def test_powertools_layer_arn_is_resolved_from_its_versioned_public_parameter(synth):
    parameters = synth.json["Parameters"]
    assert any(
        p.get("Default") == f"/aws/service/powertools/python/arm64/python3.14/{POWERTOOLS_VERSION}"
        for p in parameters.values()
    )


def test_queues_feed_their_functions_in_batches_with_partial_failures(synth):
    mappings = [
        m["Properties"] for m in synth.resources("AWS::Lambda::EventSourceMapping").values()
    ]
    assert len(mappings) == 4  # each function's queue, and its dead-letter queue (settled)
    # the ingest takes batches of small files' events; the retry one round at a time; dead letters
    # in tens
    assert sorted(m["BatchSize"] for m in mappings) == sorted([1, names.INGEST_BATCH_SIZE, 10, 10])
    for m in mappings:
        assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # concurrency is bounded, so a burst of uploads queues instead of storming the stream
    assert sorted(m["ScalingConfig"]["MaximumConcurrency"] for m in mappings) == [2, 2, 5, 10]
    # the ingest gathers a burst of small files' events for a second; the others invoke at once
    windows = {m["ScalingConfig"]["MaximumConcurrency"]: m.get("MaximumBatchingWindowInSeconds")
               for m in mappings}  # fmt: skip
    assert windows[10] == names.INGEST_BATCHING_WINDOW_S == 1
    assert windows[5] is None


def test_each_function_settles_its_own_dead_letter_queue(synth):
    queues = synth.resources("AWS::SQS::Queue")
    for handler, (fn_id, props) in _functions(synth).items():
        arns = props["Environment"]["Variables"].get(names.ENV_DEAD_LETTER_ARNS)
        if handler.startswith("lambdas.api"):
            assert arns is None
            continue
        prefix = "IngestQueue" if handler.startswith("lambdas.ingest") else "RetryQueue"
        dlq = _ref_logical_id(arns)
        assert dlq.startswith(prefix + "Dlq") and dlq in queues
        mappings = [
            m["Properties"]
            for m in synth.resources("AWS::Lambda::EventSourceMapping").values()
            if _ref_logical_id(m["Properties"]["EventSourceArn"]) == dlq
        ]
        assert [_ref_logical_id(m["FunctionName"]) for m in mappings] == [fn_id]


def test_tables_have_their_indexes(template):
    for index, (pk, sk) in ((names.JOBS_BY_KEY_INDEX, ("source_key", "created_at")),
                            (names.JOBS_BY_TIME_INDEX, ("kind", "created_at")),
                            (names.RECORDS_STATUS_INDEX, (names.RECORDS_STATUS_ATTRIBUTE, "seq"))):  # fmt: skip
        template.has_resource_properties("AWS::DynamoDB::GlobalTable", {
            "GlobalSecondaryIndexes": Match.array_with([Match.object_like({"IndexName": index, "KeySchema": [
                {"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": sk, "KeyType": "RANGE"}]})]),
        })  # fmt: skip


def test_every_api_method_is_iam_authorized(synth):
    methods = synth.resources("AWS::ApiGateway::Method")
    assert len(methods) == 4
    for method in methods.values():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"
        assert "RequestValidatorId" in method["Properties"]


def test_api_stage_throttles_and_logs_access(template):
    template.has_resource_properties("AWS::ApiGateway::Stage", {
        "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
        "MethodSettings": Match.array_with([Match.object_like({"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100})]),
        "TracingEnabled": True,
    })  # fmt: skip


def test_alarms_watch_what_an_incident_looks_like_and_say_what_to_do(synth):
    alarms = [a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()]
    metrics = sorted({a.get("MetricName", "math") for a in alarms})
    assert metrics == [
        "5XXError", "ApproximateAgeOfOldestMessage", "Errors",
        "JobsFailed", "RecordsDead", "RecursiveInvocationsDropped", "Throttles", "math",
    ]  # fmt: skip
    assert sum(1 for a in alarms if a.get("MetricName") == "Errors") == 3
    assert sum(1 for a in alarms if a.get("MetricName") == "RecursiveInvocationsDropped") == 2
    maths = [a for a in alarms if "Metrics" in a]
    [throttling] = [a for a in maths if a["Threshold"] == 10]
    assert throttling["EvaluationPeriods"] == 3  # sustained, not one entry
    # a dead letter counts whether its consumer holds it out of sight or not
    dead = [a for a in maths if "DlqNotEmpty" in str(a) or a["Threshold"] == 1]
    assert len(dead) == 2
    for alarm in dead:
        names_ = {
            m.get("MetricStat", {}).get("Metric", {}).get("MetricName") for m in alarm["Metrics"]
        }
        assert {
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
        } <= names_
    assert all(a["AlarmActions"] and len(a["AlarmDescription"]) > 40 for a in alarms)
    assert synth.resources("AWS::CloudWatch::Dashboard")


def _service(statement) -> str | None:
    principal = statement.get("Principal")
    return principal.get("Service") if isinstance(principal, dict) else None


def test_cloudwatch_may_publish_to_the_alarm_topic_and_use_its_key(synth):
    [topic] = synth.resources("AWS::SNS::Topic").values()
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = synth.resources("AWS::KMS::Key")[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    [key_grant] = [
        s for s in key["KeyPolicy"]["Statement"] if _service(s) == "cloudwatch.amazonaws.com"
    ]
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(key_grant["Action"])
    assert "aws:SourceAccount" in key_grant["Condition"]["StringEquals"]
    [policy] = synth.resources("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    [publish] = [s for s in statements if _service(s) == "cloudwatch.amazonaws.com"]
    assert publish["Action"] == "sns:Publish" and publish["Effect"] == "Allow"
    assert "aws:SourceAccount" in publish["Condition"]["StringEquals"]
    assert ":alarm:*" in json.dumps(publish["Condition"]["ArnLike"]["aws:SourceArn"])


def test_both_chaining_functions_allow_their_recursion(synth):
    functions = synth.resources("AWS::Lambda::Function").values()
    loops = {f["Properties"]["Handler"]: f["Properties"].get("RecursiveLoop") for f in functions
             if f["Properties"].get("Handler", "").startswith("lambdas.")}  # fmt: skip
    assert loops == {
        "lambdas.ingest.handler.handler": "Allow", "lambdas.retry.handler.handler": "Allow",
        "lambdas.api.handler.handler": "Terminate",
    }  # fmt: skip


def test_no_policy_grants_a_wildcard_action(synth):
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in synth.resources(kind).values():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"]
                    if isinstance(statement["Action"], list)
                    else [statement["Action"]]
                )
                assert not [a for a in actions if "*" in a], statement


def test_only_x_ray_statements_use_a_wildcard_resource(synth):
    for policy in synth.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Resource") == "*":
                actions = (
                    statement["Action"]
                    if isinstance(statement["Action"], list)
                    else [statement["Action"]]
                )
                assert all(a.startswith("xray:") for a in actions), statement


def test_tables_are_protected_from_deletion_and_buckets_abort_stale_uploads(synth):
    tables = synth.resources("AWS::DynamoDB::GlobalTable").values()
    assert tables and all(
        t["Properties"]["Replicas"][0]["DeletionProtectionEnabled"] for t in tables
    )
    for bucket in synth.resources("AWS::S3::Bucket").values():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"]["Status"] == "Enabled"
        rules = props["LifecycleConfiguration"]["Rules"]
        assert any("AbortIncompleteMultipartUpload" in r for r in rules)


def test_the_api_alone_reads_the_generated_token_key(synth):
    [secret_id] = synth.resources("AWS::SecretsManager::Secret")
    readers = [p for p in synth.resources("AWS::IAM::Policy").values()
               if "secretsmanager:GetSecretValue" in json.dumps(p)]  # fmt: skip
    assert len(readers) == 1 and secret_id in json.dumps(readers[0])
    envs = [f["Properties"].get("Environment", {}).get("Variables", {})
            for f in synth.resources("AWS::Lambda::Function").values()]  # fmt: skip
    assert sum(1 for e in envs if "LOADER_TOKEN_SECRET_ARN" in e) == 1
    assert not any("LOADER_TOKEN_KEY" in e for e in envs)


def test_outputs_name_what_a_client_needs(synth):
    assert {
        "ApiUrl",
        "BucketName",
        "IncomingPrefix",
        "StreamName",
        "JobsTableName",
        "RecordsTableName",
    } <= set(synth.json["Outputs"])


def test_an_existing_stream_can_be_brought_by_name():
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.stack import LoaderStack

    app = cdk.App(context={"stream_name": "events", "aws:cdk:bundling-stacks": []})
    template = Template.from_stack(LoaderStack(app, "Byo"))
    template.resource_count_is("AWS::Kinesis::Stream", 0)
    policies = json_dumps(template.find_resources("AWS::IAM::Policy"))
    assert ":stream/events" in policies


def test_the_fan_out_settings_come_from_context():
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from infra.stack import LoaderStack

    context = {"fanout_min_bytes": "1073741824", "fanout_max_parallel": "16",
               "ingest_batching_window_seconds": "0", "aws:cdk:bundling-stacks": []}  # fmt: skip
    template = Template.from_stack(LoaderStack(cdk.App(context=context), "Wide"))
    mappings = template.find_resources("AWS::Lambda::EventSourceMapping").values()
    # a window of 0 is taken as given: every event source invokes at once
    assert all("MaximumBatchingWindowInSeconds" not in m["Properties"] for m in mappings)
    functions = template.find_resources("AWS::Lambda::Function")
    envs = [f["Properties"].get("Environment", {}).get("Variables", {}) for f in functions.values()]
    [ingest] = [
        e for e in envs if "LOADER_INGEST_QUEUE_URL" in e and "LOADER_FANOUT_MIN_BYTES" in e
    ]
    assert (ingest["LOADER_FANOUT_MIN_BYTES"], ingest["LOADER_FANOUT_MAX_PARALLEL"]) == (
        "1073741824", "16",
    )  # fmt: skip


def json_dumps(value) -> str:
    import json

    return json.dumps(value)


def test_functions_may_publish_job_events_and_a_rule_keeps_them_for_the_cli(synth):
    functions = synth.resources("AWS::Lambda::Function")
    envs = {lid: f["Properties"]["Environment"]["Variables"] for lid, f in functions.items()
            if "Environment" in f["Properties"]}  # fmt: skip
    publishers = [lid for lid, env in envs.items() if env.get("LOADER_EVENT_BUS") == "default"]
    assert sorted(p[:6] for p in publishers) == ["Ingest", "RetryF"]
    policies = json.dumps(synth.resources("AWS::IAM::Policy"))
    assert policies.count('"events:PutEvents"') == 2 and "event-bus/default" in policies
    [rule] = synth.resources("AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == {
        "source": ["s3-kinesis-loader"], "detail-type": ["Job Status Change"],
    }  # fmt: skip
    assert "JobEventsQueueUrl" in synth.json["Outputs"]
