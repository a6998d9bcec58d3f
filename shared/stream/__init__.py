"""The stream: the port, its Kinesis adapter and `PutRecords` codec, and the sender a job's options
ask for (`job_sender.py`)."""
