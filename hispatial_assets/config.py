"""Which backend each stage runs, and with what settings: the pipeline's one configuration.

Read at definitions load (code versions depend on it) from ``$HISPATIAL_CONFIG`` (a JSON file)
or from ``HISPATIAL_<STAGE>_BACKEND`` variables, else the embedded synthetic defaults.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from typing import Any

from hispatial_assets.perception import registry


@dataclass(frozen=True)
class PipelineConfig:
    stages: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(registry.DEFAULTS))
    qa: dict[str, Any] = field(default_factory=dict)  # QAConfig overrides

    @classmethod
    def from_env(cls) -> PipelineConfig:
        stages = copy.deepcopy(registry.DEFAULTS)
        qa: dict[str, Any] = {}
        path = os.environ.get("HISPATIAL_CONFIG")
        if path:
            with open(path) as f:
                raw = json.load(f)
            for stage, spec in raw.get("stages", {}).items():
                stages[stage] = spec
            qa = raw.get("qa", {})
        for stage in stages:
            name = os.environ.get(f"HISPATIAL_{stage.upper()}_BACKEND")
            if name:
                stages[stage] = {"backend": name}
        return cls(stages=stages, qa=qa).validated()

    def validated(self) -> PipelineConfig:
        for stage, spec in self.stages.items():
            if spec.get("backend") not in registry.BACKENDS.get(stage, {}):
                known = ", ".join(sorted(registry.BACKENDS.get(stage, {})))
                raise registry.UnknownBackend(f"unknown {stage} backend {spec.get('backend')!r}; known: {known}")
        return self

    def with_stage(self, stage: str, **spec: Any) -> PipelineConfig:
        stages = copy.deepcopy(self.stages)
        stages[stage] = spec
        return PipelineConfig(stages=stages, qa=dict(self.qa))

    def identity(self, stage: str) -> str:
        return registry.spec_identity(stage, self.stages[stage])

    def build(self, stage: str) -> Any:
        return registry.build_backend(stage, self.stages[stage])
