"""What the scale benchmarks share: a real drop run through the pipeline in a temporary root."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import dagster as dg

from hispatial_assets.cli import orchestrate
from hispatial_assets.scenes import write_drop
from hispatial_assets.storage.layout import DataRoot


@contextlib.contextmanager
def materialized_drop(n_images: int, *, width: int = 512, height: int = 384, seed: int = 0,
                      drop_id: str = "bench") -> Iterator[tuple[DataRoot, dg.DagsterInstance, dg.ExecuteInProcessResult]]:
    """A scene-engine drop of ``n_images`` run through the whole drop pipeline in a temporary root."""
    with tempfile.TemporaryDirectory(prefix="hispatial-bench-") as tmp, dg.instance_for_test(temp_dir=tmp) as instance:
        root = DataRoot.resolve(os.path.join(tmp, "root"))
        write_drop(root.root, drop_id, n_images=n_images, seed=seed, width=width, height=height)
        orchestrate.register_drops(instance, [drop_id])
        result = orchestrate.materialize_drop(orchestrate.load_definitions(root), instance, drop_id)
        if not result.success:
            raise SystemExit("the pipeline failed on the benchmark drop")
        yield root, instance, result
