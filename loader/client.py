"""The everyday client's view of a stack: the local one (its state file) or a deployed one (its outputs)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from shared.domain.errors import LoaderError


class ClientError(LoaderError):
    """The stack cannot be reached, or answered with an error."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class Target:
    api_url: str
    bucket: str
    incoming_prefix: str
    stream: str
    region: str
    aws_endpoint: str | None = None  # the local stack; None for AWS itself
    sign: bool = False  # SigV4 for a deployed, IAM-authorized API
    events_queue_url: str | None = None  # where a rule sends job status changes
    ingest_queue_url: str | None = None  # where S3 events go (backfill enqueues there)

    def session(self) -> boto3.session.Session:
        if self.aws_endpoint:
            return boto3.session.Session(
                aws_access_key_id="local", aws_secret_access_key="local", region_name=self.region
            )
        return boto3.session.Session(region_name=self.region)

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.aws_endpoint)


def local_target(state_file: Path) -> Target:
    try:
        state = json.loads(state_file.read_text())
    except FileNotFoundError as exc:
        raise ClientError(
            f"no local stack: {state_file} does not exist (start one with `make local`)"
        ) from exc
    return Target(
        api_url=state["api_url"], bucket=state["bucket"], incoming_prefix=state["incoming_prefix"],
        stream=state["stream"], region=state["region"], aws_endpoint=state["aws_endpoint"],
        events_queue_url=state.get("events_queue_url"), ingest_queue_url=state.get("ingest_queue_url"),
    )  # fmt: skip


def stack_target(stack_name: str, region: str | None = None) -> Target:
    session = boto3.session.Session(region_name=region)
    stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return Target(
        api_url=outputs["ApiUrl"].rstrip("/"), bucket=outputs["BucketName"], incoming_prefix=outputs["IncomingPrefix"],
        stream=outputs["StreamArn"], region=session.region_name or "us-east-1", sign=True,
        events_queue_url=outputs.get("JobEventsQueueUrl"), ingest_queue_url=outputs.get("IngestQueueUrl"),
    )  # fmt: skip


class Api:
    def __init__(self, target: Target, timeout: float = 30.0) -> None:
        self.target, self._timeout = target, timeout

    def get(self, path: str, **query: Any) -> Any:
        params = {k: v for k, v in query.items() if v is not None}
        return self._call("GET", path + (f"?{urlencode(params)}" if params else ""), None)

    def post(self, path: str, body: Any = None) -> Any:
        return self._call("POST", path, json.dumps(body).encode() if body is not None else b"")

    def _call(self, method: str, path: str, body: bytes | None) -> Any:
        url = self.target.api_url.rstrip("/") + path
        headers = {"Content-Type": "application/json"}
        if self.target.sign:
            request = AWSRequest(method=method, url=url, data=body, headers=headers)
            credentials = self.target.session().get_credentials()
            SigV4Auth(credentials, "execute-api", self.target.region).add_auth(request)
            headers = dict(request.headers.items())
        req = urllib.request.Request(
            url, data=body if method != "GET" else None, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read())
            except ValueError:
                detail = {}
            raise ClientError(
                detail.get("message", str(exc)), exc.code, detail.get("error")
            ) from exc
        except urllib.error.URLError as exc:
            raise ClientError(f"cannot reach the API at {url}: {exc.reason}") from exc
