"""Arrows point down (README "Layout"): the command line over the Dagster layer over the domain packages over
storage. Read from the source (every import, also those inside functions), so a lazy import cannot hide one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hispatial_assets"
DOMAIN = ("scenes", "geometry", "perception", "qa", "model", "evaluation", "drawing")
# what each area may import from the project, besides itself and the plain top-level modules below
MAY_IMPORT = {
    "storage": {"geometry"},
    "catalog": {"storage"},
    "geometry": set(),
    "drawing": {"geometry"},
    "scenes": {"geometry", "storage"},
    "perception": {"geometry", "storage"},
    "qa": {"geometry", "perception", "scenes", "storage"},
    # model.runs fits the evaluation baselines as the checkpoints of their recipes (named in the README)
    "model": {"catalog", "geometry", "perception", "qa", "storage", "evaluation"},
    "evaluation": {"catalog", "drawing", "geometry", "model", "perception", "qa", "scenes", "storage"},
}
TOP_LEVEL = {"schema", "splits", "bundled", "config"}  # read by every layer; they import no area above them


def imports_of(source: str) -> set[str]:
    """Every module a source imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def area_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "hispatial_assets" and len(parts) > 1 else None


def violations(sources: dict[str, str]) -> list[str]:
    """``area/module.py imports X`` for every import that points up or sideways out of what MAY_IMPORT allows."""
    found = []
    for rel, source in sorted(sources.items()):
        area = rel.split("/")[0].removesuffix(".py")
        if area not in MAY_IMPORT:
            continue
        for module in sorted(imports_of(source)):
            if module.split(".")[0] == "dagster" or module.startswith("dagster_"):
                found.append(f"{rel} imports {module}")
                continue
            target = area_of(module)
            if target is None or target == area or target in TOP_LEVEL:
                continue
            if target not in MAY_IMPORT[area]:
                found.append(f"{rel} imports {module}")
    return found


def package_sources() -> dict[str, str]:
    return {str(p.relative_to(PACKAGE)): p.read_text() for p in PACKAGE.rglob("*.py")}


def test_every_import_points_down():
    assert violations(package_sources()) == []


def test_storage_does_not_reach_up_into_perception_and_base_and_registry_do_not_import_each_other():
    sources = package_sources()
    assert not any(m.startswith("hispatial_assets.perception") for m in imports_of(sources["storage/tables.py"]))
    base, registry = imports_of(sources["perception/base.py"]), imports_of(sources["perception/registry.py"])
    assert "hispatial_assets.perception.registry" not in base and "hispatial_assets.perception.base" in registry


@pytest.mark.parametrize("rel, line", [
    ("storage/tables.py", "from hispatial_assets.perception.base import ImageRef"),
    ("geometry/boxes.py", "    import dagster as dg"),  # inside a function still counts
    ("qa/level0.py", "from hispatial_assets.cli import orchestrate"),
    ("scenes/render.py", "from hispatial_assets.defs.partitions import drops"),
    ("perception/base.py", "from hispatial_assets.qa.reader import read_question"),
])
def test_the_check_catches_an_arrow_pointing_up(rel, line):
    sources = package_sources()
    body = f"def f():\n{line}\n" if line.startswith(" ") else f"{line}\n"
    sources[rel] = sources[rel] + "\n" + body
    assert any(v.startswith(f"{rel} imports") for v in violations(sources))
