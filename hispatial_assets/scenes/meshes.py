"""Triangle meshes composed from open3d primitives, kept as plain numpy arrays.

open3d builds each unit primitive once; every part is then a scaled and shifted copy, which is far
cheaper than building and merging thousands of small ``TriangleMesh`` objects per scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass
class Mesh:
    """Vertices (V, 3) meters, triangles (T, 3), per-triangle albedo (T, 3) in [0, 1]."""

    vertices: np.ndarray
    triangles: np.ndarray
    albedo: np.ndarray

    def transformed(self, yaw: float, offset: np.ndarray) -> Mesh:
        """Rotated about z by ``yaw`` then shifted by ``offset``."""
        c, s = np.cos(yaw), np.sin(yaw)
        rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        return Mesh(self.vertices @ rot.T + np.asarray(offset, dtype=np.float64), self.triangles, self.albedo)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.vertices.min(axis=0), self.vertices.max(axis=0)


@lru_cache(maxsize=None)
def _unit(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """A unit primitive centered on the origin (cone: base at z=0, apex at z=1)."""
    import open3d as o3d

    tm = o3d.geometry.TriangleMesh
    if kind == "box":
        m = tm.create_box(width=1.0, height=1.0, depth=1.0)
        v = np.asarray(m.vertices) - 0.5
    elif kind == "cylinder":
        m = tm.create_cylinder(radius=1.0, height=1.0, resolution=16, split=1)
        v = np.asarray(m.vertices)
    elif kind == "cone":
        m = tm.create_cone(radius=1.0, height=1.0, resolution=16, split=1)
        v = np.asarray(m.vertices)
    elif kind == "sphere":
        m = tm.create_sphere(radius=1.0, resolution=6)
        v = np.asarray(m.vertices)
    else:
        raise ValueError(f"unknown primitive {kind!r}")
    v = np.where(np.abs(v) < 1e-12, 0.0, v)  # exact zeros keep boxes of parts exact
    v.setflags(write=False)
    t = np.asarray(m.triangles, dtype=np.int64)
    t.setflags(write=False)
    return v, t


_AXES = {"z": (0, 1, 2), "x": (2, 0, 1), "y": (0, 2, 1)}  # permutation taking the unit z axis to `axis`


class MeshBuilder:
    """Accumulates colored parts in an object's local frame (meters, z up)."""

    def __init__(self) -> None:
        self._v: list[np.ndarray] = []
        self._t: list[np.ndarray] = []
        self._c: list[np.ndarray] = []
        self._n = 0

    def _add(self, kind: str, scale, center, rgb, axis: str = "z") -> MeshBuilder:
        v, t = _unit(kind)
        v = v * np.asarray(scale, dtype=np.float64)
        v = v[:, _AXES[axis]] + np.asarray(center, dtype=np.float64)
        self._v.append(v)
        self._t.append(t + self._n)
        self._c.append(np.broadcast_to(np.asarray(rgb, dtype=np.float32) / 255.0, (len(t), 3)))
        self._n += len(v)
        return self

    def box(self, center, size, rgb) -> MeshBuilder:
        return self._add("box", size, center, rgb)

    def cylinder(self, center, radius: float, length: float, rgb, axis: str = "z") -> MeshBuilder:
        return self._add("cylinder", (radius, radius, length), center, rgb, axis)

    def cone(self, base_center, radius: float, height: float, rgb) -> MeshBuilder:
        return self._add("cone", (radius, radius, height), base_center, rgb)

    def ellipsoid(self, center, radii, rgb) -> MeshBuilder:
        return self._add("sphere", radii, center, rgb)

    def build(self) -> Mesh:
        return Mesh(np.concatenate(self._v), np.concatenate(self._t), np.concatenate(self._c).astype(np.float32))

