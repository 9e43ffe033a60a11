"""Lakes and outputs in Amazon S3 or an S3-compatible server.

Basalt talks to S3 through boto3 (existence checks, listings, Parquet footers) and polars'
object store (scans and sinks). Both are configured from one boto3 session, so they always
use the same endpoint, region and credentials.
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from basalt.errors import ConfigError, DataError, TransientError
from basalt.retry import causes
from basalt.storage import Storage

__all__ = ["OPTIONS", "S3Storage", "is_transient"]

OPTIONS = (
    "endpoint_url",
    "region",
    "profile",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "allow_http",
)
"""The keys ``S3Storage`` accepts (``S3_STORAGE_OPTIONS``)."""

_LIST_PAGE_SIZE = 1000
_FOOTER_READ = 256 * 1024  # bytes read from the end of a file: most footers, in one request
_MAGIC = b"PAR1"
_NO_CREDENTIALS = (
    "no AWS credentials found: set access_key_id and secret_access_key (or profile) in "
    "S3_STORAGE_OPTIONS, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure "
    "~/.aws/credentials or an instance role"
)
_TRANSIENT_CODES = frozenset(
    {
        "BandwidthLimitExceeded",
        "InternalError",
        "PriorRequestNotComplete",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
    }
)
# How polars' object store reports throttling, server errors and timeouts.
_TRANSIENT_MESSAGE = re.compile(
    r"status code: (?:429|5\d\d)|\((?:429|5\d\d) [A-Z]|SlowDown|timed out", re.IGNORECASE
)


def _parse_bool(value: str, source: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in {"true", "false"}:
        raise ConfigError(f"{source} must be 'true' or 'false', not {value!r}")
    return lowered == "true"


def _split(path: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``."""
    scheme, separator, rest = path.partition("://")
    bucket, _, key = rest.partition("/")
    if scheme != "s3" or not separator or not bucket:
        raise DataError(f"{path}: not an s3://bucket/key URL")
    return bucket, key


def _status(exc: ClientError) -> int:
    status: int = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status


@contextmanager
def _reported(path: str, action: str) -> Iterator[None]:
    """Turn boto3 errors inside the block into a ``DataError`` naming ``path``."""
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise DataError(f"{path}: {_NO_CREDENTIALS}") from exc
    except (BotoCoreError, ClientError) as exc:
        kind = TransientError if is_transient(exc) else DataError
        raise kind(f"{path}: cannot {action} ({exc})") from exc


class S3Storage(Storage):
    """Objects in Amazon S3 or an S3-compatible server (MinIO, moto, ...).

    ``options`` (the pipeline's ``S3_STORAGE_OPTIONS``; every key is optional):

    - ``endpoint_url``: the server, e.g. ``http://127.0.0.1:9000``.
    - ``region``: the bucket's region, e.g. ``eu-west-2``.
    - ``profile``: a profile of ``~/.aws/config`` and ``~/.aws/credentials``.
    - ``access_key_id``, ``secret_access_key``, ``session_token``: explicit credentials.
    - ``allow_http``: ``"true"`` to allow plain HTTP (the default for an ``http://`` endpoint).

    Anything not given comes from the standard AWS chain as boto3 resolves it: the
    environment (``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``, ``AWS_PROFILE``,
    ``AWS_ACCESS_KEY_ID``, ...), the shared config files, then container or instance roles;
    ``allow_http`` falls back to ``AWS_ALLOW_HTTP``. Clients are created on first use.

    Raises:
        ConfigError: for an unknown key, half of a key pair, a bad ``allow_http`` or an
            unknown profile.
    """

    def __init__(self, options: dict[str, str]) -> None:
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ConfigError(
                f"unknown S3 storage option(s) {', '.join(unknown)}; allowed: {', '.join(OPTIONS)}"
            )
        if ("access_key_id" in options) != ("secret_access_key" in options):
            raise ConfigError("S3 storage options need both access_key_id and secret_access_key")
        if "session_token" in options and "access_key_id" not in options:
            raise ConfigError("S3 storage option session_token needs access_key_id")
        self._endpoint_option = options.get("endpoint_url")
        self._allow_http: bool | None = None
        if "allow_http" in options:
            self._allow_http = _parse_bool(options["allow_http"], "S3 storage option allow_http")
        elif "AWS_ALLOW_HTTP" in os.environ:
            self._allow_http = _parse_bool(os.environ["AWS_ALLOW_HTTP"], "AWS_ALLOW_HTTP")
        try:
            self._session = boto3.Session(
                profile_name=options.get("profile"),
                region_name=options.get("region"),
                aws_access_key_id=options.get("access_key_id"),
                aws_secret_access_key=options.get("secret_access_key"),
                aws_session_token=options.get("session_token"),
            )
        except ProfileNotFound as exc:
            raise ConfigError(f"S3 storage: {exc}") from exc
        self._lock = threading.Lock()
        self._client: Any = None
        self._endpoint: str | None = None
        self._known_buckets: set[str] = set()

    def _s3(self) -> Any:
        """The boto3 S3 client (created once, thread-safe)."""
        with self._lock:
            if self._client is None:
                try:
                    client = self._session.client("s3", endpoint_url=self._endpoint_option)
                    default = self._session.client(
                        "s3", config=Config(ignore_configured_endpoint_urls=True)
                    )
                except (BotoCoreError, ValueError) as exc:  # a malformed endpoint or region
                    raise ConfigError(f"S3 storage: {exc}") from exc
                endpoint = self._endpoint_option
                if endpoint is None and client.meta.endpoint_url != default.meta.endpoint_url:
                    endpoint = client.meta.endpoint_url  # AWS_ENDPOINT_URL or ~/.aws/config
                if (
                    endpoint is not None
                    and endpoint.startswith("http://")
                    and self._allow_http is False
                ):
                    raise ConfigError(
                        f"S3 endpoint {endpoint} is plain HTTP but allow_http is false"
                    )
                self._endpoint = endpoint
                self._client = client
            return self._client

    @property
    def polars_options(self) -> dict[str, str]:
        """Endpoint, region and current credentials of the boto3 session, for polars."""
        client = self._s3()
        credentials = self._session.get_credentials()
        if credentials is None:
            raise DataError(_NO_CREDENTIALS)
        frozen = credentials.get_frozen_credentials()  # refreshed when they expire
        options = {
            "aws_access_key_id": frozen.access_key,
            "aws_secret_access_key": frozen.secret_key,
            "aws_region": client.meta.region_name,
        }
        if frozen.token:
            options["aws_session_token"] = frozen.token
        if self._endpoint is not None:
            options["aws_endpoint_url"] = self._endpoint
        allow_http = self._allow_http
        if allow_http is None:
            allow_http = self._endpoint is not None and self._endpoint.startswith("http://")
        options["aws_allow_http"] = "true" if allow_http else "false"
        return options

    def exists(self, path: str) -> bool:
        """Whether the object exists; a missing bucket raises ``DataError``."""
        bucket, key = _split(path)
        client = self._s3()
        with _reported(path, "check"):
            try:
                client.head_object(Bucket=bucket, Key=key)
            except ClientError as exc:
                if _status(exc) != 404:
                    raise
            else:
                return True
            self._check_bucket(client, bucket, path)
        return False

    def _check_bucket(self, client: Any, bucket: str, path: str) -> None:
        """Raise ``DataError`` if ``bucket`` does not exist (checked once per bucket)."""
        if bucket in self._known_buckets:
            return
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if _status(exc) == 404:
                raise DataError(f"{path}: bucket {bucket} does not exist") from exc
            if _status(exc) != 403:  # without s3:ListBucket the answer is 403: it exists
                raise  # throttling, a server error: not known yet
        self._known_buckets.add(bucket)

    def list_dirs(self, path: str) -> list[str]:
        """Names of the common prefixes directly under ``path``, sorted."""
        bucket, key = _split(path)
        prefix = key.strip("/") + "/" if key.strip("/") else ""
        paginator = self._s3().get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=bucket,
            Prefix=prefix,
            Delimiter="/",
            PaginationConfig={"PageSize": _LIST_PAGE_SIZE},
        )
        names: list[str] = []
        with _reported(path, "list"):
            for page in pages:
                common = page.get("CommonPrefixes", [])
                names.extend(entry["Prefix"][len(prefix) :].rstrip("/") for entry in common)
        return sorted(names)

    def glob(self, pattern: str) -> list[str]:
        """The objects matching ``pattern`` (``*`` and ``?`` within a key), sorted."""
        bucket, key = _split(pattern)
        prefix = re.split(r"[*?\[]", key, maxsplit=1)[0]
        paginator = self._s3().get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": _LIST_PAGE_SIZE}
        )
        found: list[str] = []
        with _reported(pattern, "list"):
            for page in pages:
                keys = (entry["Key"] for entry in page.get("Contents", []))
                found.extend(f"s3://{bucket}/{k}" for k in keys if fnmatch.fnmatchcase(k, key))
        return sorted(found)

    def remove(self, path: str) -> None:
        """Delete the object ``path``."""
        bucket, key = _split(path)
        with _reported(path, "delete"):
            self._s3().delete_object(Bucket=bucket, Key=key)

    def is_dir(self, path: str) -> bool:
        """Whether some object lies under the prefix ``path``; a missing bucket raises
        ``DataError``."""
        bucket, key = _split(path)
        prefix = key.strip("/") + "/" if key.strip("/") else ""
        client = self._s3()
        with _reported(path, "list"):
            self._check_bucket(client, bucket, path)
            found = client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        return bool(found.get("KeyCount", 0))

    def metadata(self, path: str) -> pq.FileMetaData:
        """The Parquet footer, read with one ranged GET (two for footers over 256 KiB)."""
        bucket, key = _split(path)
        client = self._s3()
        with _reported(path, "read the Parquet footer of"):
            response = client.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{_FOOTER_READ}")
            tail: bytes = response["Body"].read()
            content_range = response.get("ContentRange")  # "bytes 100-199/200"
            size = int(content_range.rsplit("/", 1)[1]) if content_range else len(tail)
            if len(tail) < 12 or tail[-4:] != _MAGIC:
                raise DataError(f"{path}: not a Parquet file (no PAR1 footer)")
            needed = int.from_bytes(tail[-8:-4], "little") + 8
            if needed + len(_MAGIC) > size:
                raise DataError(f"{path}: corrupt Parquet footer (length {needed - 8})")
            if needed > len(tail):
                head_range = f"bytes={size - needed}-{size - len(tail) - 1}"
                response = client.get_object(Bucket=bucket, Key=key, Range=head_range)
                tail = response["Body"].read() + tail
        try:
            # The footer alone, framed as a file: enough for pyarrow to parse it.
            return pq.read_metadata(pa.BufferReader(_MAGIC + tail[-needed:]))
        except pa.ArrowException as exc:
            raise DataError(f"{path}: corrupt Parquet footer ({exc})") from exc

    def write_parquet(
        self, frame: pl.LazyFrame, path: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Sink ``frame`` to the object; S3 makes a PUT (or multipart upload) visible only
        once complete, so readers see the old object or the whole new one."""
        _split(path)
        options = self.polars_options
        try:
            frame.sink_parquet(
                path,
                compression="zstd",
                statistics=True,
                storage_options=options,
                metadata=dict(metadata or {}),
            )
        except OSError as exc:
            raise DataError(f"{path}: cannot write ({exc})") from exc


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, SSLError):
        return False  # certificate problems do not go away
    if isinstance(
        exc,
        BotoConnectionError
        | HTTPClientError
        | IncompleteReadError
        | ConnectionError
        | TimeoutError,
    ):
        return True
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = _status(exc)
        return code in _TRANSIENT_CODES or status == 429 or status >= 500
    if isinstance(exc, OSError | pl.exceptions.PolarsError):
        return _TRANSIENT_MESSAGE.search(str(exc)) is not None
    return False


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) is worth retrying: a connection
    failure, a timeout, throttling (``SlowDown``, HTTP 429) or a server error (HTTP 5xx)."""
    return any(_transient(cause) for cause in causes(exc))
