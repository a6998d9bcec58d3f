from aws_cdk.assertions import Match

from infra import names


def test_stream_is_on_demand_and_encrypted_with_the_chosen_record_size(template):
    template.has_resource_properties(
        "AWS::Kinesis::Stream",
        {
            "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
            "StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
            "MaxRecordSizeInKiB": 2048,
        },
    )


def test_bucket_is_private_encrypted_versioned(template):
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "BlockPublicPolicy": True,
                "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
            },
            "BucketEncryption": Match.object_like({}),
        },
    )  # fmt: skip


def test_records_table_has_the_status_index_and_pitr(template):
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": [
                {"AttributeName": "job_id", "KeyType": "HASH"},
                {"AttributeName": "seq", "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                Match.object_like(
                    {
                        "IndexName": names.RECORDS_STATUS_INDEX,
                        "KeySchema": [
                            {"AttributeName": names.RECORDS_STATUS_ATTRIBUTE, "KeyType": "HASH"},
                            {"AttributeName": "seq", "KeyType": "RANGE"},
                        ],
                    }
                )
            ],
            "Replicas": [
                Match.object_like(
                    {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}
                )
            ],
        },
    )


def test_buckets_refuse_plain_http(template):
    policies = template.find_resources("AWS::S3::BucketPolicy")
    assert policies
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )
