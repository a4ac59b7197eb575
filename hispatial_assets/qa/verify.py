"""Independent checks of QA rows, for the blocking asset checks and `hispatial verify`.

`verify_drop` reads every row of a drop back from its text with `qa.reader` and checks every field
against the stored objects and point maps, or against the scene engine's truth (the label noise of
estimation). `verify_qa` re-runs each row's ``program`` column.

Neither imports the generators. `verify_qa` re-implements every program operation from the
definitions in DESIGN §3/§4 (gravity frame: x right, y forward, z up; camera frame: x right, y down,
z forward; yaw counter-clockwise from +x seen from above; facing sectors of 45° centered on the
axes, 90° = away from the camera; clock 12 = +y, clockwise toward +x), runs each row's program
against the objects table (and point maps for L0) and compares with ``answer_value``:

- boolean rows: the program's truth value equals ``bool``;
- free rows: value (meters, within the shown rounding), xyz, label, count, clock, order or index;
- choice rows: the option at the answer letter, and only that option, matches the program's value.

`verify_qa` returns the rows that do not hold, with a reason. `format_balance` reports the yes share
per task and the letter shares per task and option count.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import polars as pl

from hispatial_assets.qa.config import QAConfig
from hispatial_assets.qa.parse import parse_length, parse_xyz
from hispatial_assets.qa.reader import VERDICT_SCHEMA, Judge, Names, Scene, read_rows

_SECTORS = ["to the right", "away from the camera and to the right", "away from the camera",
            "away from the camera and to the left", "to the left", "toward the camera and to the left",
            "toward the camera", "toward the camera and to the right"]
_ROUND = {"m": 0.005, "cm": 0.005, "in": 0.0127, "ft": 0.01524}
_NORMPX = re.compile(r"px\((\d+),\s*(\d+)\)")


class _Obj:
    __slots__ = ("c", "w", "d", "h", "yaw", "front", "label")

    def __init__(self, row: dict) -> None:
        self.c = np.array([row["center_x"], row["center_y"], row["center_z"]], dtype=np.float64)
        self.w, self.d, self.h = float(row["width"]), float(row["depth"]), float(row["height"])
        self.yaw = float(row["yaw"] or 0.0)
        f = row.get("front_yaw")
        self.front = None if f is None or (isinstance(f, float) and math.isnan(f)) else float(f)
        self.label = str(row["label"]).replace("_", " ")


class _World:
    """One image's geometry and the program operations over it."""

    def __init__(self, objects: dict[int, _Obj], xyz: np.ndarray | None) -> None:
        self.o = objects
        self.xyz = xyz

    def point(self, ref) -> np.ndarray:
        kind = ref[0]
        if kind == "obj":
            return self.o[ref[1]].c
        if kind == "pix":
            if self.xyz is None:
                raise ValueError("a pixel query needs the point map")
            return np.asarray(self.xyz[ref[2], ref[1]], dtype=np.float64)
        return np.asarray(ref[1], dtype=np.float64)

    def measure(self, key: str, ref) -> float:
        if key == "cam_dist":
            return float(np.sqrt(np.sum(self.point(ref) ** 2)))
        if key.startswith("dist:"):
            return float(np.sqrt(np.sum((self.point(ref) - self.o[int(key[5:])].c) ** 2)))
        ob = self.o[ref[1]]
        return {"height": ob.h, "width": ob.w, "depth": ob.d, "volume": ob.w * ob.d * ob.h}[key]

    @staticmethod
    def _cam_words(d: np.ndarray) -> tuple[str, str, str]:
        return ("right" if d[0] > 0 else "left", "behind" if d[1] > 0 else "in front", "above" if d[2] > 0 else "below")

    def _own_words(self, target, viewer) -> tuple[str, str]:
        d = self.point(target) - self.point(viewer)
        f = self.o[viewer[1]].front
        if f is None:
            raise ValueError("perspective of an object without a front")
        # rotate the offset into the viewer's frame: forward = front direction, right = forward turned -90°
        fx, fy = math.cos(f), math.sin(f)
        ahead = d[0] * fx + d[1] * fy
        side = d[0] * fy - d[1] * fx
        return ("right" if side > 0 else "left"), ("in front" if ahead > 0 else "behind")

    def footprint_reach(self, oid: int, u: np.ndarray) -> float:
        ob = self.o[oid]
        # corners of the footprint rectangle, projected on u
        ax = np.array([math.cos(ob.yaw), math.sin(ob.yaw)]) * ob.w / 2
        ay = np.array([-math.sin(ob.yaw), math.cos(ob.yaw)]) * ob.d / 2
        return max(float(np.dot(s1 * ax + s2 * ay, u)) for s1 in (-1, 1) for s2 in (-1, 1))

    def op(self, name: str, a: list[Any]) -> Any:
        if name == "px":
            return ("pix", int(a[0]), int(a[1]))
        if name == "center":
            return ("pt", self.point(a[0]))
        if name in ("width", "depth", "height", "volume", "cam_dist"):
            return self.measure(name, a[0])
        if name == "dist":
            return float(np.sqrt(np.sum((self.point(a[0]) - self.point(a[1])) ** 2)))
        if name == "vec":
            return ("pt", self.point(a[1]) - self.point(a[0]))
        if name == "component":
            d = np.abs(self.point(a[1]) - self.point(a[0]))
            return float({"x": d[0], "y": d[1], "vertical": d[2], "horizontal": math.sqrt(d[0] ** 2 + d[1] ** 2)}[a[2]])
        if name in ("side", "rel", "quadrant"):
            lr, fb, ud = self._cam_words(self.point(a[0]) - self.point(a[1]))
            if name == "quadrant":
                return f"{fb} and to the {lr}"
            if name == "side":
                return {"x": lr, "y": fb, "z": ud}[a[2]]
            return a[2] in (lr, fb, ud)
        if name == "clock":
            d = self.point(a[0]) - self.point(a[1])
            ang = math.degrees(math.atan2(d[0], d[1])) % 360.0
            h = int(math.floor((ang + 15.0) / 30.0)) % 12
            return h or 12
        if name == "facing":
            f = self.o[a[0][1]].front
            if f is None:
                raise ValueError("facing of an object without a front")
            return _SECTORS[int(math.floor((math.degrees(f) % 360.0 + 22.5) / 45.0)) % 8]
        if name in ("pside", "prel", "pquadrant"):
            lr, fb = self._own_words(a[0], a[1])
            if name == "pquadrant":
                return f"{fb} and to the {lr}"
            if name == "pside":
                return lr if a[2] == "lr" else fb
            return a[2] in (lr, fb)
        if name in ("count_within", "count_rel"):
            anchor = a[1][1]
            n = 0
            for oid, ob in self.o.items():
                if oid == anchor or ob.label != a[0]:
                    continue
                if name == "count_within":
                    n += self.op("dist", [("obj", oid), a[1]]) < a[2]
                else:
                    n += self.op("rel", [("obj", oid), a[1], a[2]])
            return int(n)
        if name in ("argmin", "argmax"):
            vals = [self.measure(a[0], r) for r in a[1:]]
            best = min(vals) if name == "argmin" else max(vals)
            return vals.index(best) + 1
        if name == "order":
            desc = a[0].startswith("-")
            key = a[0].lstrip("-")
            return [r[1] for r in sorted(a[1:], key=lambda r: self.measure(key, r), reverse=desc)]
        if name == "gap":
            u = self.o[a[1][1]].c[:2] - self.o[a[0][1]].c[:2]
            n = math.sqrt(float(u @ u))
            u = u / n
            return n - self.footprint_reach(a[0][1], u) - self.footprint_reach(a[1][1], -u)
        if name == "footprint_min":
            ob = self.o[a[0][1]]
            return min(ob.w, ob.d)
        if name == "moved":
            return ("pt", self.point(a[0]) + np.array([a[1], a[2], a[3]], dtype=np.float64))
        if name == "nearest":
            p = self.point(a[0])
            ds = [float(np.sqrt(np.sum((self.point(r) - p) ** 2))) for r in a[1:]]
            return ds.index(min(ds)) + 1
        if name == "near":
            x = self.point(a[0]) if isinstance(a[0], tuple) else np.asarray(a[0])
            y = np.asarray(a[1], dtype=np.float64)
            return float(np.sqrt(np.sum((x - y) ** 2))) <= a[2]
        if name in ("gt", "lt"):
            return (a[0] > a[1]) if name == "gt" else (a[0] < a[1])
        if name == "eq":
            return a[0] == a[1]
        if name == "sub":
            return a[0] - a[1]
        if name == "add":
            return a[0] + a[1]
        raise ValueError(f"unknown operation {name!r}")

    def evaluate(self, node, env):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.evaluate(node.operand, env)
        if isinstance(node, ast.List):
            return [self.evaluate(e, env) for e in node.elts]
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            m = re.fullmatch(r"o(\d+)", node.id)
            if m and int(m.group(1)) in self.o:
                return ("obj", int(m.group(1)))
            raise ValueError(f"unknown name {node.id}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.op(node.func.id, [self.evaluate(x, env) for x in node.args])
        raise ValueError("unsupported program syntax")

    def run(self, program: str) -> Any:
        env: dict[str, Any] = {}
        out = None
        for stmt in ast.parse(program).body:
            if not isinstance(stmt, ast.Assign):
                raise ValueError("program lines must be assignments")
            out = env[stmt.targets[0].id] = self.evaluate(stmt.value, env)
        if isinstance(out, tuple) and out[0] == "pt":
            return [float(v) for v in out[1]]
        if isinstance(out, tuple) and out[0] == "pix":
            return [float(v) for v in self.point(out)]
        return out


def _length_ok(av: dict, truth: float) -> str | None:
    unit = av.get("unit", "m")
    tol = _ROUND.get(unit, 0.005) + 1e-6
    shown = parse_length(f"{av['value']} {unit}")
    if shown is None or abs(shown - truth) > tol:
        return f"value {av['value']} {unit} != {truth:.4f} m"
    if "meters" in av and abs(av["meters"] - truth) > 6e-4:
        return f"meters {av['meters']} != {truth:.4f}"
    return None


def _matches(option: str, truth: Any, final_op: str) -> bool:
    if isinstance(truth, bool):
        return False
    if isinstance(truth, float):
        v = parse_length(option)
        unit_tol = max((_ROUND[u] for u in _ROUND if option.endswith((f" {u}", {"in": " inches", "ft": " feet"}.get(u, "#")))),
                       default=0.005)
        return v is not None and abs(v - truth) <= unit_tol + 1e-6
    if isinstance(truth, list) and len(truth) == 3 and all(isinstance(x, float) for x in truth):
        v = parse_xyz(option)
        return v is not None and max(abs(p - q) for p, q in zip(v, truth)) <= 0.005 + 1e-6
    if isinstance(truth, int) and final_op == "clock":
        return option == f"{truth} o'clock"
    if isinstance(truth, int):
        return option.strip() == str(truth)
    return option == truth


def _check(row: dict, world: _World, width_height: tuple[int, int] | None) -> str | None:
    av = json.loads(row["answer_value"])
    program = row["program"]
    if not program:
        return "no program"
    try:
        truth = world.run(program)
    except Exception as e:  # noqa: BLE001 - any failure is a finding
        return f"program failed: {type(e).__name__}: {e}"
    if width_height is not None:
        W, H = width_height
        for u, v in _NORMPX.findall(program):
            nu, nv = min(999, int((int(u) + 0.5) * 1000 // W)), min(999, int((int(v) + 0.5) * 1000 // H))
            if f"[{nu}, {nv}]" not in row["question"]:
                return f"pixel px({u}, {v}) is not shown as [{nu}, {nv}]"
    final_op = program.strip().splitlines()[-1].split("=", 1)[1].strip().split("(", 1)[0]
    fmt = row["format"]
    if fmt == "boolean":
        if "bool" not in av or av["bool"] is not bool(truth) or not isinstance(truth, bool):
            return f"bool {av.get('bool')} != {truth}"
        if row["answer"].lower().rstrip(".") != ("yes" if truth else "no"):
            return "answer text disagrees with bool"
        return None
    if fmt == "choice":
        opts, letter = av.get("options") or [], av.get("choice")
        pos = "ABCD".find(letter) if letter else -1
        if pos < 0 or pos >= len(opts):
            return f"letter {letter} outside {len(opts)} options"
        if final_op in ("argmin", "argmax", "nearest"):
            return None if truth == pos + 1 else f"option {truth} is correct, not {letter}"
        hits = [i for i, o in enumerate(opts) if _matches(o, truth, final_op)]
        return None if hits == [pos] else f"options matching {truth!r}: {hits}, letter {letter}"
    # free
    if isinstance(truth, bool):
        return "free answer to a yes/no program"
    if "xyz" in av:
        ok = isinstance(truth, list) and max(abs(p - q) for p, q in zip(av["xyz"], truth)) <= 6e-4
        return None if ok else f"xyz {av['xyz']} != {truth}"
    if "order" in av:
        return None if av["order"] == truth else f"order {av['order']} != {truth}"
    if "count" in av:
        return None if av["count"] == truth else f"count {av['count']} != {truth}"
    if "clock" in av:
        return None if av["clock"] == truth else f"clock {av['clock']} != {truth}"
    if "index" in av:
        if av["index"] != truth:
            return f"index {av['index']} != {truth}"
        if "object_id" in av:
            args = re.findall(r"\bo(\d+)\b", program.strip().splitlines()[-1])
            if final_op == "nearest":
                pass
            elif str(av["object_id"]) != args[truth - 1]:
                return f"object {av['object_id']} is not argument {truth}"
        return None
    if "value" in av:
        return _length_ok(av, float(truth)) if isinstance(truth, float) else f"value for non-numeric {truth!r}"
    if "label" in av:
        return None if av["label"] == truth else f"label {av['label']!r} != {truth!r}"
    return "unknown answer_value shape"


def verify_qa(qa: pl.DataFrame, objects: pl.DataFrame,
              point_maps: Mapping[str, Any] | Callable[[str], Any] | None = None,
              image_sizes: Mapping[str, tuple[int, int]] | None = None) -> pl.DataFrame:
    """Rows of ``qa`` whose answers do not follow from the geometry, with the reason.

    ``objects``: schema.OBJECTS rows (any number of images). ``point_maps``: image_id -> object with
    ``.xyz`` (H, W, 3) camera frame, as a mapping or a callable, needed for L0 rows. Pixel labels in
    L0 questions are checked against the point map's size (or ``image_sizes`` when given).
    Returns columns qa_id, image_id, task, format, reason (empty when everything holds).
    """
    by_image: dict[str, dict[int, _Obj]] = {}
    for row in objects.iter_rows(named=True):
        by_image.setdefault(row["image_id"], {})[int(row["object_id"])] = _Obj(row)
    out = {"qa_id": [], "image_id": [], "task": [], "format": [], "reason": []}
    for image_id, part in qa.group_by("image_id", maintain_order=True):
        image_id = image_id[0]
        xyz, wh = None, None
        if point_maps is not None and part["level"].min() == 0:
            pm = point_maps(image_id) if callable(point_maps) else point_maps.get(image_id)
            if pm is not None:
                xyz = np.asarray(pm.xyz if hasattr(pm, "xyz") else pm)
                wh = (xyz.shape[1], xyz.shape[0])
        if image_sizes and image_id in image_sizes:
            wh = image_sizes[image_id]
        world = _World(by_image.get(image_id, {}), xyz)
        for row in part.iter_rows(named=True):
            try:
                reason = _check(row, world, wh if row["level"] == 0 else None)
            except Exception as e:  # noqa: BLE001
                reason = f"check failed: {type(e).__name__}: {e}"
            if reason is not None:
                for k in ("qa_id", "image_id", "task", "format"):
                    out[k].append(row[k])
                out["reason"].append(reason)
    return pl.DataFrame(out, schema={"qa_id": pl.String, "image_id": pl.String, "task": pl.String,
                                     "format": pl.String, "reason": pl.String})


def format_balance(qa: pl.DataFrame) -> pl.DataFrame:
    """Answer balance per task: the yes share of boolean rows (expected 0.5) and the share of each
    answer letter among choice rows with k options (expected 1/k).

    Columns: task, format, n_options, key ("yes" or a letter), n (rows in the group), share, expected.
    """
    rows: list[dict] = []
    b = qa.filter(pl.col("format") == "boolean").with_columns(
        pl.col("answer_value").str.json_path_match("$.bool").alias("_b"))
    for (task,), g in b.group_by("task", maintain_order=True):
        n = len(g)
        rows.append({"task": task, "format": "boolean", "n_options": 2, "key": "yes", "n": n,
                     "share": float((g["_b"] == "true").sum()) / n, "expected": 0.5})
    c = qa.filter(pl.col("format") == "choice").select("task", "answer_value")
    groups: dict[tuple[str, int], list[str]] = {}
    for task, av in c.iter_rows():
        d = json.loads(av)
        groups.setdefault((task, len(d["options"])), []).append(d["choice"])
    for (task, k), letters in groups.items():
        for L in "ABCD"[:k]:
            rows.append({"task": task, "format": "choice", "n_options": k, "key": L, "n": len(letters),
                         "share": letters.count(L) / len(letters), "expected": 1.0 / k})
    return pl.DataFrame(rows, schema={"task": pl.String, "format": pl.String, "n_options": pl.Int32, "key": pl.String,
                                      "n": pl.Int64, "share": pl.Float64, "expected": pl.Float64})


AGAINST = ("objects", "gt_objects")
LEVELS = (0, 1, 2, 3)


class NoGroundTruth(LookupError):
    """`against="gt_objects"` on a drop without scene-engine truth."""


def verify_drop(root, drop_id: str, config: QAConfig | None = None, *, against: str = "objects",
                levels: tuple[int, ...] = LEVELS) -> pl.DataFrame:
    """One verdict per QA row of a drop (columns of `reader.VERDICT_SCHEMA`): read back from its text
    and checked against the drop's stored objects and point maps (``against="objects"``: every field,
    exactly), or against the scene engine's truth (``"gt_objects"``: whether the answer stays true;
    objects are paired with the truth by mask IoU, L0 pixels read the truth point map)."""
    from hispatial_assets.storage.tables import point_map_loader, read_table

    if against not in AGAINST:
        raise ValueError(f"against must be one of {AGAINST}, not {against!r}")
    config = config or QAConfig()
    qa = pl.concat([read_table(root, "qa", drop_id, level=lv) for lv in levels])
    if qa.is_empty():
        return pl.DataFrame(schema=VERDICT_SCHEMA)
    images = read_table(root, "images", drop_id)
    objects = read_table(root, "objects", drop_id)
    referrals = read_table(root, "referrals", drop_id)
    sizes = {r["image_id"]: (r["width"], r["height"]) for r in images.iter_rows(named=True)}
    if against == "objects":
        geometry, point_maps = objects, point_map_loader(root, drop_id)
    else:
        truth = read_table(root, "gt_objects", drop_id)
        if truth.is_empty():
            raise NoGroundTruth(f"drop {drop_id} has no gt_objects (not a scene-engine drop)")
        geometry = truth_under_estimated_ids(objects, truth, lambda i: sizes[i][::-1])
        point_maps = _truth_point_maps(images)
    judge = Judge(config, exact=against == "objects")
    objs = {k[0]: g for k, g in objects.group_by("image_id")}
    refs = {k[0]: g for k, g in referrals.group_by("image_id")}
    geo = {k[0]: g for k, g in geometry.group_by("image_id")}
    frames = []
    for (image_id,), rows in qa.group_by("image_id", maintain_order=True):
        width, height = sizes.get(image_id, (0, 0))
        pm = point_maps(image_id) if (rows["level"] == 0).any() else None
        names = Names(objs.get(image_id), refs.get(image_id), width, height)
        frames.append(read_rows(rows, names, Scene(geo.get(image_id), pm, width, height), judge))
    return pl.concat(frames)


def truth_under_estimated_ids(objects: pl.DataFrame, truth: pl.DataFrame, shape_of) -> pl.DataFrame:
    """gt_objects with each truth object renamed to the id of the estimated object its mask matches
    (IoU ≥ 0.5), so questions about estimated objects can be asked of the truth; truth objects that
    no estimate matched keep a fresh id (they still count, and can still be nearest)."""
    from hispatial_assets.geometry.metrics import match_objects

    pairs = match_objects(objects, truth, shape_of).select("image_id", pl.col("truth_object_id").alias("object_id"),
                                                           pl.col("object_id").alias("estimated_id"))
    unmatched_base = 1 << 40
    return (truth.with_columns(pl.col("object_id").cast(pl.Int64))
            .join(pairs, on=["image_id", "object_id"], how="left")
            .with_columns(object_id=pl.coalesce("estimated_id", pl.col("object_id") + unmatched_base))
            .drop("estimated_id"))


def _truth_point_maps(images: pl.DataFrame):
    from hispatial_assets.scenes import load_truth

    uris = dict(images.select("image_id", "uri").iter_rows())
    return lambda image_id: load_truth(uris[image_id]).point_map()
