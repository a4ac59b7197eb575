"""Benchmark loaders, answer parsing, protocols and scorers (DESIGN §2). No Dagster here.

Benchmark names are the `benchmarks` partitions of `eval_scores`: `self` is the self-built benchmark
from held-out scene-engine drops, the others are the published files read from a local path.
"""

BENCHMARKS: tuple[str, ...] = ("self", "spatialrgpt", "qspatial", "cvbench3d", "3dsrbench", "embspatial", "robospatial")
