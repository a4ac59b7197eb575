"""The task taxonomy (DESIGN §4, §8) and the sampling configuration of QA synthesis."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

LEVEL_TASKS: dict[int, tuple[str, ...]] = {
    0: ("point_3d", "depth_order"),
    1: ("object_location", "object_orientation", "object_size"),
    2: ("direction", "direction_vector", "distance", "distance_component", "compare", "rank"),
    3: ("perspective", "count_constrained", "multi_step"),
}
TASK_LEVEL: dict[str, int] = {t: lvl for lvl, ts in LEVEL_TASKS.items() for t in ts}
TASKS: tuple[str, ...] = tuple(TASK_LEVEL)
FORMATS: tuple[str, ...] = ("free", "choice", "boolean")

# Questions per image and task at density 1.0: ~400 per image with ~9 objects, the paper's scale
# (2B QA over 5M images). Each task's budget is split evenly over the enabled formats.
DEFAULT_CAPS: dict[str, int] = {
    "point_3d": 30, "depth_order": 30,
    "object_location": 24, "object_orientation": 18, "object_size": 30,
    "direction": 48, "direction_vector": 18, "distance": 30, "distance_component": 30,
    "compare": 42, "rank": 24,
    "perspective": 30, "count_constrained": 24, "multi_step": 30,
}


@dataclass(frozen=True)
class QAConfig:
    """How many questions of which kind, and the rules that keep them unambiguous.

    Everything is deterministic from ``seed`` and the image id: the same inputs and config give the
    same frame, row for row. ``margin_rel`` / ``margin_abs_m``: a comparison of two quantities a, b
    is only asked when ``|a - b| >= max(margin_abs_m, margin_rel * max(|a|, |b|))``; a qualitative
    direction (left/right, in front/behind, above/below) only when the offset along its axis passes
    the same rule with the pair's distance as the scale; an angle only when it lies at least
    ``angle_margin_deg`` inside its sector. Volumes compare with ``volume_ratio`` instead.
    ``units``: "metric" (meters everywhere) or "mixed" (a human-like mix of m, cm, inches, feet in
    questions and answers; ``answer_value`` keeps the meters). ``allow_fallback``: objects whose
    referral is the class + box fallback may be asked about (the box is in the question text, so they
    stay unambiguous); with False they are skipped as referents (they still count in counting tasks).
    """

    seed: int = 0
    density: float = 1.0
    caps: dict[str, int] = field(default_factory=dict)  # per-task overrides of DEFAULT_CAPS
    max_per_image: int | None = None  # cap per image and level, applied after the task caps
    formats: tuple[str, ...] = FORMATS
    tasks: tuple[str, ...] | None = None  # restrict to these task ids
    units: str = "metric"  # "metric" | "mixed"
    margin_rel: float = 0.10
    margin_abs_m: float = 0.10
    angle_margin_deg: float = 7.5
    volume_ratio: float = 1.25
    min_length_m: float = 0.10  # distances / components below this are not asked
    allow_fallback: bool = True
    l0_pixel_pool: int = 256  # valid pixels sampled per image for L0 questions

    def __post_init__(self) -> None:
        if self.units not in ("metric", "mixed"):
            raise ValueError(f"units must be 'metric' or 'mixed', not {self.units!r}")
        bad = [f for f in self.formats if f not in FORMATS]
        if bad:
            raise ValueError(f"unknown formats {bad}; known: {FORMATS}")
        bad = [t for t in (self.tasks or ()) if t not in TASK_LEVEL]
        if bad:
            raise ValueError(f"unknown tasks {bad}; known: {TASKS}")

    def cap(self, task: str) -> int:
        if self.tasks is not None and task not in self.tasks:
            return 0
        return max(0, int(round(self.caps.get(task, DEFAULT_CAPS[task]) * self.density)))

    def format_caps(self, task: str) -> dict[str, int]:
        """The task budget split over the enabled formats; boolean budgets are even (50/50 yes/no)."""
        total, fmts = self.cap(task), list(self.formats)
        if not fmts or total == 0:
            return {f: 0 for f in fmts}
        base, extra = divmod(total, len(fmts))
        caps = {f: base + (1 if i < extra else 0) for i, f in enumerate(fmts)}
        if "boolean" in caps and caps["boolean"] % 2:
            caps["boolean"] += 1
        return caps

    def ok(self, diff, scale) -> bool:
        """Whether a difference is large enough to ask about (see the class docstring)."""
        return abs(diff) >= max(self.margin_abs_m, self.margin_rel * abs(scale))

    def identity(self) -> str:
        """Stable JSON of the settings (part of the QA assets' code_version)."""
        return json.dumps(asdict(self), sort_keys=True, default=list)

    def rng_seed(self, image_id: str, task: str) -> int:
        h = hashlib.blake2b(f"{self.seed}\x1f{image_id}\x1f{task}".encode(), digest_size=8)
        return int.from_bytes(h.digest(), "little")
