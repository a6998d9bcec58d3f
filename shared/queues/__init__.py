"""Queues: the port and its SQS adapter."""
