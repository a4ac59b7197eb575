"""hispatial-assets: a spatial-VQA data engine (HiSpatial) as a Dagster asset graph.

Domain packages (`scenes`, `geometry`, `perception`, `qa`, `model`, `evaluation`, `storage`,
`catalog`) never import dagster; `defs/` wires them into assets.
"""

__version__ = "0.1.0"
