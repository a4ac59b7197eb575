"""Hierarchical spatial QA synthesis (DESIGN §4): the task taxonomy, per-level generators, formats,
units, answer parsing, independent verification and export. No Dagster here.

    from hispatial_assets.qa import ImageInputs, QAConfig, generate_qa
    frame = generate_qa(2, ImageInputs(drop_id, image_id, width, height, objects=..., referrals=...))
"""

from hispatial_assets.qa.config import DEFAULT_CAPS, FORMATS, LEVEL_TASKS, TASK_LEVEL, TASKS, QAConfig
from hispatial_assets.qa.scene import ImageInputs
from hispatial_assets.qa.synthesis import generate_all, generate_qa

__all__ = ["DEFAULT_CAPS", "FORMATS", "LEVEL_TASKS", "TASK_LEVEL", "TASKS", "ImageInputs", "QAConfig",
           "generate_all", "generate_qa"]
