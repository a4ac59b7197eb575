"""Referring expressions: `template` (geometry-verified) and `vlm` (grounding-verified) backends."""
