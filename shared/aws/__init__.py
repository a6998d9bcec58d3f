"""What every AWS adapter shares: the cached boto3 clients, and DynamoDB's item encoding."""
