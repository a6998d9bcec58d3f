"""On the local stack, a function's log lines name that function, while others run at once."""

from __future__ import annotations

import io
import json
import logging
import threading

from aws_lambda_powertools.utilities.typing import LambdaContext

from loader.local.emulator import EmulatedContext, invoke
from shared.functions.observability import logger


def test_log_lines_name_their_own_function_while_another_sets_the_shared_keys():
    # GIVEN ingest running, then the API invoked meanwhile (setting the process-wide keys)
    ingest_entered, api_started, ingest_logged = (threading.Event() for _ in range(3))
    out = io.StringIO()
    capture = logging.StreamHandler(out)
    capture.setFormatter(logger.registered_formatter)
    logger.addHandler(capture)
    level = logger.log_level  # another module of the suite may have quieted it (the simulation)
    logger.setLevel("INFO")

    @logger.inject_lambda_context
    def api(event, context: LambdaContext):
        api_started.set()
        ingest_logged.wait(5)

    @logger.inject_lambda_context
    def ingest(event, context: LambdaContext):
        ingest_entered.set()
        api_started.wait(5)
        logger.warning("ingest says")  # WHEN ingest logs after the API set its keys
        ingest_logged.set()

    first = threading.Thread(target=invoke, args=(ingest, {}, EmulatedContext("loader-ingest", 5)))
    first.start()
    ingest_entered.wait(5)
    second = threading.Thread(target=invoke, args=(api, {}, EmulatedContext("loader-api", 5)))
    second.start()
    first.join(10)
    second.join(10)
    logger.removeHandler(capture)
    logger.setLevel(level)
    # THEN the line names ingest
    lines = [json.loads(line) for line in out.getvalue().splitlines() if "ingest says" in line]
    assert [line["function_name"] for line in lines] == ["loader-ingest"]
