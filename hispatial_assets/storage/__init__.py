"""fsspec storage: atomic writes, Parquet tables, compact point maps, the data-root layout."""

from hispatial_assets.storage.layout import DataRoot, resolve_root
from hispatial_assets.storage.point_maps import load_point_map

__all__ = ["DataRoot", "load_point_map", "resolve_root"]
