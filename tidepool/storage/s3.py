"""The ``s3`` driver: objects in an S3-compatible bucket, with Directus's settings ``STORAGE_<NAME>_KEY``,
``_SECRET``, ``_BUCKET``, ``_REGION``, ``_ENDPOINT``, ``_FORCE_PATH_STYLE`` and ``_ROOT`` (a key prefix).

The client is boto3 (the optional extra ``tidepool[s3]``), called in worker threads: its signing, retries and
error handling are the reference every S3-compatible server is tested against, which a hand-written signer
would have to earn. Uploads are S3 multipart uploads of ``PART_SIZE`` parts, so memory stays at one part
however large the file; an object smaller than one part is a single ``PutObject``. Reads stream ranges.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio.to_thread

from tidepool.config import parse_bool
from tidepool.storage.base import READ_CHUNK, safe_key

PART_SIZE = 8 * 1024 * 1024  # S3's minimum is 5 MiB for every part but the last


def _client(options: Mapping[str, str]) -> Any:
    import boto3  # the optional extra tidepool[s3]: only a server with an s3 location needs it
    from botocore.config import Config

    style = "path" if parse_bool(options.get("force_path_style", "false")) else "auto"
    return boto3.client(
        "s3",
        aws_access_key_id=options.get("key"),
        aws_secret_access_key=options.get("secret"),
        region_name=options.get("region") or "us-east-1",
        endpoint_url=options.get("endpoint") or None,
        config=Config(s3={"addressing_style": style}, retries={"max_attempts": 3, "mode": "standard"}),
    )


class S3Writer:
    """Buffers up to one part; the multipart upload starts only when a second part is needed."""

    def __init__(self, client: Any, bucket: str, key: str, content_type: str) -> None:
        self.client, self.bucket, self.key, self.content_type = client, bucket, key, content_type
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= PART_SIZE:
            self._send_part(bytes(self.buffer[:PART_SIZE]))
            del self.buffer[:PART_SIZE]

    def _send_part(self, body: bytes) -> None:
        if self.upload_id is None:
            started = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )
            self.upload_id = started["UploadId"]
        number = len(self.parts) + 1
        sent = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts.append({"ETag": sent["ETag"], "PartNumber": number})

    def commit(self) -> None:
        if self.upload_id is None:
            self.client.put_object(
                Bucket=self.bucket, Key=self.key, Body=bytes(self.buffer), ContentType=self.content_type
            )
            return
        if self.buffer:
            self._send_part(bytes(self.buffer))
            self.buffer.clear()
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )

    def abort(self) -> None:
        self.buffer.clear()
        if self.upload_id is not None:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


class S3Driver:
    def __init__(self, options: Mapping[str, str]) -> None:
        self.bucket = options.get("bucket") or ""
        self.prefix = safe_key(options.get("root") or "")
        self.client = _client(options)

    def _key(self, key: str) -> str:
        return "/".join(part for part in (self.prefix, safe_key(key)) if part)

    async def open_writer(self, key: str, content_type: str) -> S3Writer:
        return S3Writer(self.client, self.bucket, self._key(key), content_type)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        extra = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end is not None else {}
        answer = await anyio.to_thread.run_sync(
            lambda: self.client.get_object(Bucket=self.bucket, Key=self._key(key), **extra)
        )
        body = answer["Body"]
        try:
            while chunk := await anyio.to_thread.run_sync(body.read, READ_CHUNK):
                yield chunk
        finally:
            body.close()

    async def size(self, key: str) -> int | None:
        def head() -> int | None:
            try:
                return int(self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"])
            except self.client.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise

        return await anyio.to_thread.run_sync(head)

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(key)))

    async def delete_prefix(self, prefix: str) -> None:
        def remove() -> None:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix))
            for page in pages:
                for item in page.get("Contents", []):
                    self.client.delete_object(Bucket=self.bucket, Key=item["Key"])

        await anyio.to_thread.run_sync(remove)

    async def fetch(self, key: str, limit: int) -> bytes:
        def load() -> bytes:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key), Range=f"bytes=0-{limit - 1}")
            data: bytes = answer["Body"].read()
            return data

        return await anyio.to_thread.run_sync(load)
