"""An S3-compatible server on 127.0.0.1 (moto's server mode) with a fresh bucket, credentials only
in the environment (as a deployment would give them), and no AWS config of this machine read."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import pytest

from hispatial_assets.storage.layout import DataRoot

BUCKET = "hispatial-test"


@dataclass
class S3Root:
    root: DataRoot
    secret: str  # the secret access key: it must never show up in logs, metadata or lineage
    endpoint: str

    def client(self):
        """A plain boto3 client: another machine uploading to the bucket, not our fsspec instance."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint)

    def keys(self) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


@pytest.fixture
def s3_root(tmp_path, monkeypatch) -> S3Root:
    pytest.importorskip("s3fs", reason="the s3 extra: pip install '.[s3]'")
    server_mod = pytest.importorskip("moto.server", reason="moto[server] (test extra)")
    import s3fs

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    secret = f"test-secret-{uuid.uuid4().hex}"
    endpoint = f"http://{host}:{port}"
    for name, value in {"AWS_ACCESS_KEY_ID": "hispatialtestkey", "AWS_SECRET_ACCESS_KEY": secret,
                        "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
                        "HISPATIAL_CATALOG_DIR": str(tmp_path / "catalog")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    s3fs.S3FileSystem.clear_instance_cache()
    s3 = S3Root(DataRoot.resolve(f"s3://{BUCKET}/root"), secret, endpoint)
    s3.client().create_bucket(Bucket=BUCKET)
    try:
        yield s3
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()
