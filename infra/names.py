"""Names shared by the CDK stack, the local stack and the tests.

What the Lambdas also need (prefixes, index names, environment variables) is defined once in
`shared/names.py`, which is packaged with every function, and re-exported here.
"""

from __future__ import annotations

from shared.names import *  # noqa: F403  (re-export: one definition, several consumers)

STACK_NAME = "S3KinesisLoader"
