"""Which backend each stage runs, and with what settings: the pipeline's one configuration.

Read at definitions load (code versions depend on it) from ``$HISPATIAL_CONFIG`` (a JSON file)
or from ``HISPATIAL_<STAGE>_BACKEND`` variables, on top of a profile: "estimated" (the default:
what a real pipeline runs, on the scene engine's images) or "exact" (``$HISPATIAL_PROFILE=exact``:
every stage reads the truth). A stage's settings are flat (``{"backend": "moge", "path": ...}``) or
in a block per backend (``{"backend": "synthetic", "moge": {"path": ...}}``), so a variable can switch
to a backend whose checkpoint paths the file already holds.

Every section, stage, backend, key and simple value is checked on reading: a mistake is a
`ConfigError` of one line naming it, where it came from, and what is valid.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from hispatial_assets.perception import registry

CONFIG_ENV = "HISPATIAL_CONFIG"
PROFILE_ENV = "HISPATIAL_PROFILE"
SECTIONS = ("profile", "stages", "qa", "training", "benchmarks", "executor")
# The `training` section: the fields of defs/training.py's TrainingResource and their types (a test keeps
# the two equal; the defaults are TrainConfig's).
TRAINING_KEYS: dict[str, str] = {
    "device": "str", "base_path": "str | None", "max_steps": "int | None", "batch_size": "int | None",
    "grad_accum": "int | None", "lr": "float | None", "warmup_steps": "int | None", "save_every": "int | None",
    "num_workers": "int | None", "seed": "int | None", "general_vqa_path": "str | None",
    "general_image_root": "str | None",
}
BENCHMARKS_DIR_ENV = "HISPATIAL_BENCHMARKS_DIR"


def benchmark_keys() -> tuple[str, ...]:
    """The `benchmarks` section: ``dir`` (a folder of one subfolder per benchmark) and one path per
    published benchmark (``self`` is built from the drops and has none)."""
    from hispatial_assets.evaluation import BENCHMARKS

    return ("dir", *(b for b in BENCHMARKS if b != "self"))


class ConfigError(ValueError):
    """A configuration mistake, said in one line: what, where it came from, what is valid."""


def backend_env(stage: str) -> str:
    return f"HISPATIAL_{stage.upper()}_BACKEND"


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
    executor: dict[str, Any] | None = None  # the file's "executor" block; read by defs/executors.py

    @classmethod
    def from_env(cls, profile: str | None = None) -> PipelineConfig:
        """Stages of a profile (``profile``, else $HISPATIAL_PROFILE, else the config file's "profile",
        else "estimated"), then the config file's stages, then ``HISPATIAL_<STAGE>_BACKEND``, which
        sets the backend's name only (the file's settings for it stay)."""
        raw, source = read_config_file()
        stages = profile_stages(active_profile(raw, source, profile))
        for stage, spec in _section(raw, "stages", source).items():
            if stage not in registry.BACKENDS:
                raise ConfigError(f"{source}: stages.{stage}: no such stage; valid: {', '.join(registry.BACKENDS)}")
            if not isinstance(spec, dict):
                raise ConfigError(f"{source}: stages.{stage} must be an object like {{\"backend\": ...}}, not {spec!r}")
            stages[stage] = {"backend": stages[stage]["backend"], **spec} if "backend" not in spec else dict(spec)
        check_backend_variables()
        for stage in stages:
            name = os.environ.get(backend_env(stage))
            if name:
                stages[stage] = {**stages[stage], "backend": name}
        qa, training = _section(raw, "qa", source), _section(raw, "training", source)
        check_qa(qa, source)
        check_keys(training, TRAINING_KEYS, f"{source}: training")
        for key, value in training.items():
            check_value(registry.Setting(key, None, TRAINING_KEYS[key]), value, f"{source}: training.{key}")
        return cls(stages=stages, qa=qa, training=training, executor=raw.get("executor")).validated(source)

    @classmethod
    def exact(cls) -> PipelineConfig:
        """Every stage reads the scene engine's truth: the exact path."""
        return cls(stages=profile_stages("exact"))

    def validated(self, source: str = "the configuration") -> PipelineConfig:
        for stage, spec in self.stages.items():
            check_stage(stage, spec, source)
        return self

    def with_stage(self, stage: str, **spec: Any) -> PipelineConfig:
        stages = copy.deepcopy(self.stages)
        stages[stage] = spec
        return PipelineConfig(stages=stages, qa=dict(self.qa), training=dict(self.training), executor=self.executor)

    def identity(self, stage: str) -> str:
        return registry.spec_identity(stage, self.stages[stage])

    def build(self, stage: str) -> Any:
        return registry.build_backend(stage, self.stages[stage])


def active_profile(raw: dict[str, Any], source: str, profile: str | None = None) -> str:
    """``profile``, else $HISPATIAL_PROFILE, else the file's "profile", else "estimated"."""
    profile = profile or os.environ.get(PROFILE_ENV) or raw.get("profile") or "estimated"
    if profile not in registry.PROFILES:
        where = f"${PROFILE_ENV}" if os.environ.get(PROFILE_ENV) else f"{source}: profile"
        raise ConfigError(f"{where}: unknown profile {profile!r}; valid: {', '.join(registry.PROFILES)}")
    return profile


def effective(config: PipelineConfig) -> dict[str, Any]:
    """What each stage really runs with: the backend and every setting it receives, defaults filled in
    (``None`` for a required one left unset), the QA settings and the training overrides."""
    from hispatial_assets.qa.config import QAConfig

    stages = {}
    for stage, spec in config.stages.items():
        defaults = {k: None if s.default is registry.REQUIRED else s.default
                    for k, s in registry.backend_setting_specs(stage, spec["backend"]).items()}
        stages[stage] = {"backend": spec["backend"], "settings": {**defaults, **registry.backend_settings(stage, spec)}}
    return {"stages": stages, "qa": dataclasses.asdict(QAConfig(**config.qa)), "training": dict(config.training)}


def read_config_file() -> tuple[dict[str, Any], str]:
    """The JSON of ``$HISPATIAL_CONFIG`` ({} when unset) and how to name it in messages."""
    path = os.environ.get(CONFIG_ENV)
    if not path:
        return {}, f"${CONFIG_ENV}"
    source = f"${CONFIG_ENV} ({path})"
    try:
        with open(path) as f:
            raw = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: a folder, not a JSON file") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{source}: not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: must hold a JSON object with sections {', '.join(SECTIONS)}")
    check_keys(raw, SECTIONS, source, what="section")
    benchmarks = _section(raw, "benchmarks", source)
    check_keys(benchmarks, benchmark_keys(), f"{source}: benchmarks", what="benchmark")
    for key, value in benchmarks.items():
        check_value(registry.Setting(key, None, "str | None"), value, f"{source}: benchmarks.{key}")
    return raw, source


def _section(raw: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {name} must be a JSON object, not {value!r}")
    return value


def check_keys(given: dict[str, Any], valid, where: str, what: str = "setting") -> None:
    for key in given:
        if key not in valid:
            raise ConfigError(f"{where}: unknown {what} {key!r}{_did_you_mean(key, valid)}; valid: {', '.join(valid)}")


def _did_you_mean(key: str, valid) -> str:
    import difflib

    close = difflib.get_close_matches(str(key), list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_backend_variables() -> None:
    """Every ``HISPATIAL_*_BACKEND`` variable names a stage and one of its backends."""
    for var, value in os.environ.items():
        m = re.fullmatch(r"HISPATIAL_(.+)_BACKEND", var)
        if not m:
            continue
        stage = m.group(1).lower()
        if stage not in registry.BACKENDS:
            valid = ", ".join(backend_env(s) for s in registry.BACKENDS)
            raise ConfigError(f"${var}: no stage {stage!r}; valid variables: {valid}")
        if value and value not in registry.BACKENDS[stage]:
            raise ConfigError(f"${var}: unknown {stage} backend {value!r}; valid: {', '.join(registry.BACKENDS[stage])}")


def check_stage(stage: str, spec: dict[str, Any], source: str) -> None:
    """The backend exists; every key is ``backend``, a block named after a backend of the stage, or a
    setting some backend of the stage takes; blocks hold only their backend's settings; simple values
    have their setting's type."""
    names = registry.BACKENDS.get(stage)
    if names is None:
        raise ConfigError(f"{source}: stages.{stage}: no such stage; valid: {', '.join(registry.BACKENDS)}")
    backend = spec.get("backend")
    if backend not in names:
        where = f"${backend_env(stage)}" if os.environ.get(backend_env(stage)) == backend else f"{source}: stages.{stage}.backend"
        raise ConfigError(f"{where}: unknown {stage} backend {backend!r}; valid: {', '.join(names)}")
    specs = {n: registry.backend_setting_specs(stage, n) for n in names}
    every = sorted({k for s in specs.values() for k in s})
    for key, value in spec.items():
        if key == "backend":
            continue
        if key in names:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: stages.{stage}.{key} (the {key} backend's block) must be an object")
            for sub, v in value.items():
                if sub not in specs[key]:
                    raise ConfigError(f"{source}: stages.{stage}.{key}.{sub}: {key} takes no setting {sub!r}"
                                      f"{_did_you_mean(sub, specs[key])}; valid: {', '.join(specs[key]) or 'none'}")
                check_value(specs[key][sub], v, f"{source}: stages.{stage}.{key}.{sub}")
            continue
        if key not in every:
            raise ConfigError(f"{source}: stages.{stage}.{key}: no {stage} backend takes this setting"
                              f"{_did_you_mean(key, every)}; valid: backend, {', '.join(every)}, "
                              f"or a block per backend ({', '.join(names)})")
        own = specs[backend].get(key)
        if own is not None:
            check_value(own, value, f"{source}: stages.{stage}.{key}")


_TYPES = {"float": (int, float), "int": (int,), "bool": (bool,), "str": (str,), "None": (type(None),),
          "dict": (dict,), "list": (list,), "tuple": (list, tuple)}


def check_value(setting: registry.Setting, value: Any, where: str) -> None:
    """Values of simple annotated types (float, int, bool, str, None, list, dict and unions of them)."""
    parts = [re.sub(r"\[.*\]$", "", p.strip()) for p in setting.annotation.split("|")] if setting.annotation else []
    if not parts or any(p not in _TYPES for p in parts):
        return  # a type we do not check here: the backend's constructor does
    allowed = tuple(t for p in parts for t in _TYPES[p])
    if isinstance(value, bool) and bool not in allowed:
        allowed = ()  # JSON true is not a number
    if not isinstance(value, allowed):
        raise ConfigError(f"{where}: expected {setting.annotation}, got {value!r}")


def check_qa(qa: dict[str, Any], source: str) -> None:
    """Keys are `QAConfig` fields, and `QAConfig` accepts the values."""
    from hispatial_assets.qa.config import QAConfig

    fields = {f.name: f for f in dataclasses.fields(QAConfig)}
    check_keys(qa, fields, f"{source}: qa")
    for key, value in qa.items():
        check_value(registry.Setting(key, None, str(fields[key].type)), value, f"{source}: qa.{key}")
    try:
        QAConfig(**qa)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{source}: qa: {e}") from None
