"""Objects in the bucket: the port and its S3 adapter."""
