"""Job events: the port and its EventBridge adapter."""
