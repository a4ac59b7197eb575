"""Which backend each stage runs, and with what settings: the pipeline's one configuration.

Read at definitions load (code versions depend on it) from ``$HISPATIAL_CONFIG`` (a JSON file)
or from ``HISPATIAL_<STAGE>_BACKEND`` variables, on top of a profile: "estimated" (the default:
what a real pipeline runs, on the scene engine's images) or "exact" (``$HISPATIAL_PROFILE=exact``:
every stage reads the truth). A stage's settings are flat (``{"backend": "moge", "path": ...}``) or
in a block per backend (``{"backend": "synthetic", "moge": {"path": ...}}``), so a variable can switch
to a backend whose checkpoint paths the file already holds.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from typing import Any

from hispatial_assets.perception import registry


def profile_stages(profile: str) -> dict[str, dict[str, Any]]:
    """The stage specs of a named profile: "estimated" (the default) or "exact" (see perception/registry.py)."""
    if profile not in registry.PROFILES:
        raise registry.UnknownBackend(f"unknown profile {profile!r}; known: {', '.join(registry.PROFILES)}")
    return copy.deepcopy(registry.PROFILES[profile])


@dataclass(frozen=True)
class PipelineConfig:
    stages: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(registry.DEFAULTS))
    qa: dict[str, Any] = field(default_factory=dict)  # QAConfig overrides
    training: dict[str, Any] = field(default_factory=dict)  # TrainingResource fields (defs/training.py)

    @classmethod
    def from_env(cls, profile: str | None = None) -> PipelineConfig:
        """Stages of a profile (``profile``, else $HISPATIAL_PROFILE, else the config file's "profile",
        else "estimated"), then the config file's stages, then ``HISPATIAL_<STAGE>_BACKEND``."""
        raw: dict[str, Any] = {}
        path = os.environ.get("HISPATIAL_CONFIG")
        if path:
            with open(path) as f:
                raw = json.load(f)
        stages = profile_stages(profile or os.environ.get("HISPATIAL_PROFILE") or raw.get("profile") or "estimated")
        for stage, spec in raw.get("stages", {}).items():
            stages[stage] = spec
        qa: dict[str, Any] = raw.get("qa", {})
        training: dict[str, Any] = raw.get("training", {})
        for stage in stages:
            name = os.environ.get(f"HISPATIAL_{stage.upper()}_BACKEND")
            if name and stages[stage].get("backend") != name:
                # a new backend: the old one's flat settings go, every backend's own block stays
                blocks = {k: v for k, v in stages[stage].items() if k in registry.BACKENDS.get(stage, {})}
                stages[stage] = {"backend": name, **blocks}
        return cls(stages=stages, qa=qa, training=training).validated()

    @classmethod
    def exact(cls) -> PipelineConfig:
        """Every stage reads the scene engine's truth: the exact path."""
        return cls(stages=profile_stages("exact"))

    def validated(self) -> PipelineConfig:
        for stage, spec in self.stages.items():
            if spec.get("backend") not in registry.BACKENDS.get(stage, {}):
                known = ", ".join(sorted(registry.BACKENDS.get(stage, {})))
                raise registry.UnknownBackend(f"unknown {stage} backend {spec.get('backend')!r}; known: {known}")
        return self

    def with_stage(self, stage: str, **spec: Any) -> PipelineConfig:
        stages = copy.deepcopy(self.stages)
        stages[stage] = spec
        return PipelineConfig(stages=stages, qa=dict(self.qa), training=dict(self.training))

    def identity(self, stage: str) -> str:
        return registry.spec_identity(stage, self.stages[stage])

    def build(self, stage: str) -> Any:
        return registry.build_backend(stage, self.stages[stage])
