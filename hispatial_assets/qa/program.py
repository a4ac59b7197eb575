"""The small program language every QA row carries in its ``program`` column.

A program is one or more lines ``name = op(arg, ...)`` in Python syntax; the value of the last line is
the answer. Arguments are numbers, strings, lists of numbers, earlier names, nested calls, object
references ``o<object_id>`` and pixels ``px(u, v)`` (column u, row v of the point map, camera frame).
L0–L2 rows and most of L3 hold a one-line program (the query the question asks); ``multi_step`` rows
hold 2–4 lines, and their answers are computed by running the program with `run_program`.

Operations (gravity frame for objects, camera frame for pixels; distances in meters):

  center(o) width(o) depth(o) height(o) volume(o)    box center and extents (width, depth, height)
  cam_dist(a)                                        distance from the camera (the origin)
  dist(a, b)  vec(a, b)                              center-to-center distance / vector b - a
  component(a, b, c)                                 |b - a| along c in {'x', 'y', 'vertical', 'horizontal'}
  side(b, a, axis)                                   axis 'x': 'left'|'right' (b.x < a.x is left);
                                                     'y': 'in front'|'behind' (farther is behind);
                                                     'z': 'above'|'below'
  rel(b, a, word)                                    side(b, a, axis of word) == word
  quadrant(b, a)                                     '<in front|behind> and to the <left|right>'
  clock(b, a)                                        clock hour 1..12 of b seen from a, 12 = +y (ahead)
  facing(o)                                          the 8-sector words of o's front yaw (see level1)
  pside(x, o, 'lr'|'fb')  prel(x, o, word)  pquadrant(x, o)
                                                     the same, in o's own frame (facing its front)
  count_within(label, a, r)  count_rel(label, a, word)
                                                     objects with that label, other than a, within r
                                                     of a / on that side of a (camera view)
  argmin(key, *items)  argmax(key, *items)           1-based position of the extreme item; key in
                                                     'cam_dist', 'height', 'width', 'depth', 'volume',
                                                     'dist:<object_id>'
  order(key, *items)                                 object ids sorted by key ascending ('-key': descending)
  gap(a, b)                                          horizontal clearance between the two footprints
                                                     along the line joining their centers
  footprint_min(o)                                   min(width, depth)
  moved(o, dx, dy, dz)                               o's center shifted by (dx, dy, dz)
  nearest(p, *objects)                               1-based position of the object nearest to p
  gt lt eq sub add near(a, b, tol)                   comparisons / arithmetic; near: |a - b| <= tol
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

import numpy as np

from hispatial_assets.qa.scene import SceneObjects

FACING_WORDS = (
    "to the right", "away from the camera and to the right", "away from the camera",
    "away from the camera and to the left", "to the left", "toward the camera and to the left",
    "toward the camera", "toward the camera and to the right",
)
QUADRANTS = ("in front and to the left", "in front and to the right", "behind and to the left",
             "behind and to the right")
AXIS_OF = {"left": "x", "right": "x", "in front": "y", "behind": "y", "above": "z", "below": "z"}


def facing_sector(front_yaw: float) -> int:
    # == int(np.round(np.degrees(front_yaw) / 45.0)) % 8 (both multiply by 180 / pi and round half to
    # even) without the numpy scalar overhead
    return round(math.degrees(front_yaw) / 45.0) % 8


def quadrant_label(fwd: float, right: float) -> str:
    return QUADRANTS[(0 if fwd > 0 else 2) + (1 if right > 0 else 0)]


_FLAT = re.compile(r"(\w+) = (\w+)\((.*)\)")


class Executor:
    """Runs programs over one image's objects (and point map for pixels)."""

    def __init__(self, scene: SceneObjects, xyz: np.ndarray | None = None) -> None:
        self.scene = scene
        self.xyz = xyz
        self.index = {oid: i for i, oid in enumerate(scene.id_list)}

    # --- values ---
    def _pt(self, a: Any) -> np.ndarray:
        if isinstance(a, tuple) and a[0] == "o":
            return self.scene.center[self.index[a[1]]]
        if isinstance(a, tuple) and a[0] == "px":
            return np.asarray(self.xyz[a[2], a[1]], dtype=np.float64)
        return np.asarray(a, dtype=np.float64)

    def _i(self, o: Any) -> int:
        return self.index[o[1]]

    def _key(self, key: str, item: Any) -> float:
        s = self.scene
        if key.startswith("dist:"):
            return float(np.linalg.norm(self._pt(item) - s.center[self.index[int(key[5:])]]))
        if key == "cam_dist":
            return float(np.linalg.norm(self._pt(item)))
        i = self._i(item)
        return float({"width": s.whd[i, 0], "depth": s.whd[i, 1], "height": s.whd[i, 2],
                      "volume": s.volume[i]}[key])

    def call(self, op: str, args: list[Any]) -> Any:
        s = self.scene
        if op == "px":
            return ("px", int(args[0]), int(args[1]))
        if op == "center":
            return self._pt(args[0])
        if op in ("width", "depth", "height", "volume"):
            return self._key(op, args[0])
        if op == "cam_dist":
            return float(np.linalg.norm(self._pt(args[0])))
        if op == "dist":
            return float(np.linalg.norm(self._pt(args[1]) - self._pt(args[0])))
        if op == "vec":
            return self._pt(args[1]) - self._pt(args[0])
        if op == "component":
            d = self._pt(args[1]) - self._pt(args[0])
            c = args[2]
            return float({"x": abs(d[0]), "y": abs(d[1]), "vertical": abs(d[2]),
                          "horizontal": np.hypot(d[0], d[1])}[c])
        if op in ("side", "rel", "quadrant", "clock"):
            d = self._pt(args[0]) - self._pt(args[1])
            if op == "quadrant":
                return quadrant_label(-d[1], d[0])
            if op == "clock":
                h = int(np.round(np.degrees(np.arctan2(d[0], d[1])) / 30.0)) % 12
                return 12 if h == 0 else h
            axis = args[2] if op == "side" else AXIS_OF[args[2]]
            word = {"x": ("left", "right", 0), "y": ("in front", "behind", 1), "z": ("below", "above", 2)}[axis]
            side = word[0] if d[word[2]] < 0 else word[1]
            return side if op == "side" else side == args[2]
        if op == "facing":
            return FACING_WORDS[facing_sector(s.front[self._i(args[0])])]
        if op in ("pside", "prel", "pquadrant"):
            d = self._pt(args[0]) - self._pt(args[1])
            fy = s.front[self._i(args[1])]
            fwd = d[0] * np.cos(fy) + d[1] * np.sin(fy)
            right = d[0] * np.sin(fy) - d[1] * np.cos(fy)
            if op == "pquadrant":
                return quadrant_label(fwd, right)
            lr, fb = ("right" if right > 0 else "left"), ("in front" if fwd > 0 else "behind")
            if op == "pside":
                return lr if args[2] == "lr" else fb
            return (lr if args[2] in ("left", "right") else fb) == args[2]
        if op in ("count_within", "count_rel"):
            label, anchor = args[0], args[1]
            a = self._pt(anchor)
            n = 0
            for i, oid in enumerate(s.id_list):
                if oid == anchor[1] or s.labels[i] != label:
                    continue
                d = s.center[i] - a
                if op == "count_within":
                    n += bool(np.linalg.norm(d) < args[2])
                else:
                    n += self.call("rel", [("o", oid), anchor, args[2]])
            return n
        if op in ("argmin", "argmax"):
            vals = [self._key(args[0], it) for it in args[1:]]
            return int(np.argmin(vals) if op == "argmin" else np.argmax(vals)) + 1
        if op == "order":
            key, desc = (args[0][1:], True) if args[0].startswith("-") else (args[0], False)
            items = sorted(args[1:], key=lambda it: self._key(key, it), reverse=desc)
            return [it[1] for it in items]
        if op == "gap":
            return gap(s, self._i(args[0]), self._i(args[1]))
        if op == "footprint_min":
            return float(min(s.whd[self._i(args[0]), :2]))
        if op == "moved":
            return self._pt(args[0]) + np.array(args[1:4], dtype=np.float64)
        if op == "nearest":
            p = self._pt(args[0])
            return int(np.argmin([np.linalg.norm(self._pt(o) - p) for o in args[1:]])) + 1
        if op == "gt":
            return bool(args[0] > args[1])
        if op == "lt":
            return bool(args[0] < args[1])
        if op == "eq":
            return bool(args[0] == args[1])
        if op == "sub":
            return args[0] - args[1]
        if op == "add":
            return args[0] + args[1]
        if op == "near":
            return bool(np.linalg.norm(self._pt(args[0]) - self._pt(args[1])) <= args[2])
        raise ValueError(f"unknown op {op!r}")

    # --- evaluation ---
    def _eval(self, node: ast.AST, env: dict[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self._eval(node.operand, env)
        if isinstance(node, ast.List):
            return [self._eval(e, env) for e in node.elts]
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            if node.id[:1] == "o" and node.id[1:].isdigit():
                return ("o", int(node.id[1:]))
            raise NameError(node.id)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node.func.id, [self._eval(a, env) for a in node.args])
        raise ValueError(f"unsupported syntax: {ast.dump(node)}")

    def _atom(self, tok: str, env: dict[str, Any]) -> Any:
        if tok in env:
            return env[tok]
        c = tok[0]
        if c == "o" and tok[1:].isdigit():
            return ("o", int(tok[1:]))
        if c == "'":
            return tok[1:-1]
        return float(tok) if "." in tok else int(tok)

    def run(self, program: str) -> Any:
        """Run a program; flat lines (no nested calls, lists or quoted commas) take a fast path."""
        env: dict[str, Any] = {}
        value: Any = None
        if "[" not in program and '"' not in program:
            fast = True
            for line in program.splitlines():
                m = _FLAT.fullmatch(line)
                if m is None or "(" in m.group(3):
                    fast = False
                    break
                args = [self._atom(t, env) for t in m.group(3).split(", ")] if m.group(3) else []
                value = env[m.group(1)] = self.call(m.group(2), args)
            if fast:
                return value
            env, value = {}, None
        for stmt in ast.parse(program).body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                raise ValueError(f"each line must be `name = expression`: {ast.unparse(stmt)}")
            value = env[stmt.targets[0].id] = self._eval(stmt.value, env)
        return value


def gap(scene: SceneObjects, i: int, j: int) -> float:
    """Horizontal clearance between the footprints of objects i and j along their center line."""
    d = scene.center[j, :2] - scene.center[i, :2]
    dist = float(np.hypot(d[0], d[1]))
    if dist < 1e-9:
        return -1.0
    u = d / dist
    return dist - half_extent(scene, i, u) - half_extent(scene, j, u)


def half_extent(scene: SceneObjects, i: int, u: np.ndarray) -> float:
    """Support of object i's footprint rectangle in horizontal direction u."""
    c, s = np.cos(scene.yaw[i]), np.sin(scene.yaw[i])
    w, d = scene.whd[i, 0], scene.whd[i, 1]
    return float(abs(u[0] * c + u[1] * s) * w / 2 + abs(-u[0] * s + u[1] * c) * d / 2)


def run_program(program: str, scene: SceneObjects, xyz: np.ndarray | None = None) -> Any:
    return Executor(scene, xyz).run(program)
