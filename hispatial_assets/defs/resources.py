"""Resources: the data root and one backend resource per perception stage."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg

from hispatial_assets.catalog.duckdb import ensure_catalog
from hispatial_assets.perception import registry
from hispatial_assets.storage.layout import DataRoot


class DataRootResource(dg.ConfigurableResource):
    """Where drops, tables, point maps, lineage and the catalog live (any fsspec URL)."""

    root: str = ""  # empty: --root / $HISPATIAL_ROOT / ./data at run time

    def data_root(self) -> DataRoot:
        root = DataRoot.resolve(self.root or None)
        ensure_catalog(root)
        return root


class BackendResource(dg.ConfigurableResource):
    """A perception backend chosen by name, with its settings as JSON (see perception/registry.py)."""

    stage: str
    backend: str
    settings_json: str = "{}"

    def spec(self) -> dict[str, Any]:
        return {"backend": self.backend, **json.loads(self.settings_json)}

    def identity(self) -> str:
        return registry.spec_identity(self.stage, self.spec())

    def build(self) -> Any:
        return registry.build_backend(self.stage, self.spec())


def backend_resource(stage: str, spec: dict[str, Any]) -> BackendResource:
    settings = {k: v for k, v in spec.items() if k != "backend"}
    return BackendResource(stage=stage, backend=spec["backend"], settings_json=json.dumps(settings, sort_keys=True))
