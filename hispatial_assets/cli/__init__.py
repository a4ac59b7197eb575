"""The `hispatial` command and what drives Dagster for it: runs of the asset graph on the instance
(`orchestrate`), evaluation and ablation runs (`experiments`), progress bars, the configuration reference.
Domain packages never import from here."""

from hispatial_assets.cli.commands import main

__all__ = ["main"]
