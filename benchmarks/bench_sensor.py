"""drop_sensor tick time with 1,000 registered drops and 100 new ones (issue 14).

The drops folder holds ``--known`` drops the sensor has already seen (registered partitions, in its
cursor) and ``--new`` complete drops it has not; a tick lists the folder, checks _READY of the new
ones, registers them as partitions and requests one run each. Timed: that tick, and the steady tick
after it (nothing new). ``--s3`` puts the root in an S3-compatible server on 127.0.0.1 (moto, a test
extra), where every listing and _READY check is an HTTP request.

    .venv/bin/python benchmarks/bench_sensor.py [--known 1000] [--new 100] [--s3]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import uuid

import dagster as dg

from hispatial_assets.definitions import build_definitions
from hispatial_assets.defs.resources import DataRootResource
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot


def s3_root() -> tuple[str, object]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": uuid.uuid4().hex,
                       "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_DEFAULT_REGION": "us-east-1"})
    import boto3

    boto3.client("s3").create_bucket(Bucket="hispatial-bench")
    return "s3://hispatial-bench/root", server


def make_drops(root: DataRoot, ids: list[str]) -> None:
    for drop_id in ids:
        io.write_bytes(io.join(root.drop_uri(drop_id), "a.png"), b"not read by the sensor")
        io.write_bytes(io.join(root.drop_uri(drop_id), "_READY"), b"")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--known", type=int, default=1000)
    ap.add_argument("--new", type=int, default=100)
    ap.add_argument("--s3", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hispatial-bench-") as tmp, dg.instance_for_test(temp_dir=tmp) as instance:
        os.environ["HISPATIAL_CATALOG_DIR"] = os.path.join(tmp, "catalog")
        uri, server = s3_root() if args.s3 else (os.path.join(tmp, "root"), None)
        root = DataRoot.resolve(uri)
        known = [f"known_{i:05d}" for i in range(args.known)]
        new = [f"new_{i:05d}" for i in range(args.new)]
        make_drops(root, known + new)
        instance.add_dynamic_partitions("drops", known)
        sensor = build_definitions(root=root.root).resolve_sensor_def("drop_sensor")
        resources = {"data_root": DataRootResource(root=root.root)}
        cursor = '{"seen": %s}' % str(sorted(known)).replace("'", '"')

        def tick(cursor: str) -> tuple[float, dg.SensorResult]:
            t = time.perf_counter()
            result = sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor))
            for request in result.dynamic_partitions_requests:  # what the daemon does with the result
                instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            return time.perf_counter() - t, result

        tick(cursor)  # warm: imports, catalog stubs, the filesystem instance
        for key in new:
            instance.delete_dynamic_partition("drops", key)
        busy, result = tick(cursor)
        assert sorted(r.partition_key for r in result.run_requests) == new
        steady, quiet = tick(result.cursor)
        assert quiet.run_requests == []
        where = "s3 (moto on 127.0.0.1)" if args.s3 else "local disk"
        print(f"drop_sensor on {where}: {args.known} known drops + {args.new} new: {1000 * busy:.0f} ms "
              f"(registers {args.new} partitions, requests {len(result.run_requests)} runs); "
              f"next tick, nothing new: {1000 * steady:.0f} ms")
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
