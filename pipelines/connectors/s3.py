"""A user's S3 bucket (any S3-compatible endpoint) for connectors: a checked endpoint, clients, errors in plain words.

The S3 source and the Parquet destination's S3 fields name a bucket of the user's, not d2d's
storage: so the endpoint's host is checked as a database host is (never a metadata address,
D2D_PIPELINES_DB_HOSTS when set), a config without keys reads anonymously rather than with d2d's
own credentials or the machine's role, and every failure says which bucket and what went wrong.
"""

import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore
import botocore.exceptions
from botocore.config import Config

from pipelines.connectors.base import CheckFailed
from pipelines.connectors.hosts import database_address

# Short enough that a test connection against an endpoint that does not answer fails within
# seconds; a sync's requests get the same timeouts and the SDK's standard retries.
CONNECT_SECONDS = 5
READ_SECONDS = 60


@dataclass(frozen=True)
class Bucket:
    """Where a bucket is and how to sign for it."""

    name: str
    region: str = "us-east-1"
    endpoint: str = ""
    access_key: str = ""
    secret_key: str = ""

    def checked_endpoint(self) -> str | None:
        """The endpoint URL to connect to; an http endpoint goes to the address its host was checked at."""
        if not self.endpoint:
            return None  # AWS itself, by region
        parts = urlsplit(self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CheckFailed(f"S3 endpoint {self.endpoint!r} must be an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = database_address(parts.hostname, port)
        if parts.scheme == "https":
            return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))  # TLS checks the name
        host = f"[{address}]" if ":" in address else address
        return urlunsplit(("http", f"{host}:{port}", parts.path, "", ""))

    def client(self, *, attempts: int = 3):
        """A boto3 S3 client for this bucket: path-style on custom endpoints, unsigned without keys."""
        if bool(self.access_key) != bool(self.secret_key):
            raise CheckFailed("S3 access key and secret key go together: give both, or neither for a public bucket")
        options = {
            "connect_timeout": CONNECT_SECONDS,
            "read_timeout": READ_SECONDS,
            "retries": {"max_attempts": attempts, "mode": "standard"},
            "s3": {"addressing_style": "path" if self.endpoint else "auto"},
        }
        if not self.access_key:
            options["signature_version"] = botocore.UNSIGNED
        session = boto3.session.Session()  # clients of one session are not shared between threads
        return session.client(
            "s3",
            endpoint_url=self.checked_endpoint(),
            region_name=self.region or "us-east-1",
            aws_access_key_id=self.access_key or None,
            aws_secret_access_key=self.secret_key or None,
            config=Config(**options),
        )

    def where(self, key: str = "") -> str:
        return f"s3://{self.name}/{key}" if key else f"s3://{self.name}"


def s3_failure(exc: Exception, bucket: Bucket, key: str = "") -> CheckFailed:
    """A botocore error as the sentence a user can act on, naming the bucket (never the keys)."""
    where = bucket.where(key)
    if isinstance(exc, CheckFailed):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchBucket",) or (code == "404" and not key):
            return CheckFailed(f"bucket {bucket.name!r} does not exist at {bucket.endpoint or 'AWS'}")
        if code in ("NoSuchKey", "404"):
            return CheckFailed(f"{where} does not exist")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"):
            return CheckFailed(f"S3 refused the access key or secret key for {bucket.where()} ({code})")
        if code in ("AccessDenied", "403", "AllAccessDisabled") or status == 403:
            return CheckFailed(f"access to {where} denied ({code or status})")
        return CheckFailed(f"S3 error on {where}: {code or status}: {error.get('Message', '')}".rstrip(": "))
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError):
        return CheckFailed(f"cannot reach the S3 endpoint {bucket.endpoint or 'of AWS'}: {exc}")
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return CheckFailed(f"no usable S3 credentials for {bucket.where()}: {exc}")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return CheckFailed(f"S3 request to {where} failed: {exc}")
    raise exc


S3_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


def bucket_check(bucket: Bucket, *, write_prefix: str | None = None) -> None:
    """That the bucket answers with these keys; with ``write_prefix``, that an object can be written there and removed."""
    client = bucket.client(attempts=1)
    try:
        # A listing rather than HEAD: a HEAD's error has no body, so a wrong key and a denied one look alike.
        client.list_objects_v2(Bucket=bucket.name, MaxKeys=1, Prefix=write_prefix or "")
        if write_prefix is not None:
            import uuid

            key = posixpath.join(write_prefix, f".d2d-check-{uuid.uuid4().hex[:8]}")
            client.put_object(Bucket=bucket.name, Key=key, Body=b"ok")
            client.delete_object(Bucket=bucket.name, Key=key)
    except S3_ERRORS as exc:
        raise s3_failure(exc, bucket) from None
    finally:
        client.close()


class BucketStorage:
    """The few Django-storage calls the file destinations make, on a user's bucket under a prefix.

    Not django-storages' S3Storage: that falls back to d2d's own AWS settings for missing keys.
    """

    def __init__(self, bucket: Bucket, prefix: str = ""):
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = self.bucket.client()
        return self._client

    def key(self, name: str) -> str:
        return posixpath.join(self.prefix, name) if self.prefix else name

    def path(self, name: str) -> str:
        raise NotImplementedError("a bucket has no local paths")

    def _call(self, method: str, name: str = "", **kwargs):
        try:
            return getattr(self.client, method)(Bucket=self.bucket.name, **kwargs)
        except S3_ERRORS as exc:
            raise s3_failure(exc, self.bucket, self.key(name)) from None

    def save(self, name: str, content) -> str:
        """Upload ``content`` (a file) as ``name``, replacing what is there; the name as given."""
        try:
            self.client.upload_fileobj(content, self.bucket.name, self.key(name))
        except S3_ERRORS as exc:
            raise s3_failure(exc, self.bucket, self.key(name)) from None
        return name

    def exists(self, name: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket.name, Key=self.key(name))
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise s3_failure(exc, self.bucket, self.key(name)) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise s3_failure(exc, self.bucket, self.key(name)) from None
        return True

    def delete(self, name: str) -> None:
        self._call("delete_object", name, Key=self.key(name))

    def listdir(self, folder: str) -> tuple[list[str], list[str]]:
        """(sub-folders, files) directly in ``folder``, as Django's storages answer."""
        prefix = self.key(folder).rstrip("/") + "/" if self.key(folder) else ""
        dirs, files = [], []
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket.name, Prefix=prefix, Delimiter="/"):
                dirs += [entry["Prefix"][len(prefix):].rstrip("/") for entry in page.get("CommonPrefixes", [])]
                files += [entry["Key"][len(prefix):] for entry in page.get("Contents", [])]
        except S3_ERRORS as exc:
            raise s3_failure(exc, self.bucket, prefix) from None
        return dirs, files
