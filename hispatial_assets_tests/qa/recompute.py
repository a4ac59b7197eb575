"""A test-local recompute of QA answers, written from DESIGN §3/§4 separately from the generators
and from qa/verify.py. It also records every comparison a row relies on, for the margin test."""

from __future__ import annotations

import json
import math
import re

import numpy as np

MARGIN_REL, MARGIN_ABS, ANGLE_MARGIN, VOLUME_RATIO = 0.10, 0.10, 7.5, 1.25
CALL = re.compile(r"^(\w+)\((.*)\)$", re.S)


def split_args(s: str) -> list[str]:
    out, depth, cur, quote = [], 0, "", False
    for ch in s:
        if ch == "'":
            quote = not quote
        if not quote and ch in "([":
            depth += 1
        if not quote and ch in ")]":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


class Recompute:
    def __init__(self, objects: dict[int, dict], xyz=None):
        self.o, self.xyz = objects, xyz
        self.checks: list[tuple[str, float, float]] = []  # (kind, difference, scale)

    def pos(self, r):
        if r[0] == "o":
            ob = self.o[r[1]]
            return np.array([ob["center_x"], ob["center_y"], ob["center_z"]])
        if r[0] == "px":
            return self.xyz[r[2], r[1]].astype(float)
        return np.asarray(r[1], float)

    def key(self, k, r):
        if k == "cam_dist":
            return float(np.linalg.norm(self.pos(r)))
        if k.startswith("dist:"):
            return float(np.linalg.norm(self.pos(r) - self.pos(("o", int(k[5:])))))
        ob = self.o[r[1]]
        return ob["width"] * ob["depth"] * ob["height"] if k == "volume" else ob[k]

    def reach(self, oid, u):
        """Farthest footprint corner of object oid along horizontal direction u."""
        ob = self.o[oid]
        R = np.array([[math.cos(ob["yaw"]), -math.sin(ob["yaw"])], [math.sin(ob["yaw"]), math.cos(ob["yaw"])]])
        corners = [np.array([sx * ob["width"] / 2, sy * ob["depth"] / 2]) for sx in (-1, 1) for sy in (-1, 1)]
        return max(float((R @ c) @ u) for c in corners)

    def need(self, kind, diff, scale):
        self.checks.append((kind, diff, scale))

    def value(self, tok: str, env):
        tok = tok.strip()
        if tok in env:
            return env[tok]
        if re.fullmatch(r"o\d+", tok):
            return ("o", int(tok[1:]))
        if tok.startswith("'"):
            return tok[1:-1]
        if tok.startswith("["):
            return ("p", [float(x) for x in tok[1:-1].split(",")])
        m = CALL.match(tok)
        if m:
            return self.op(m.group(1), [self.value(a, env) for a in split_args(m.group(2))])
        return float(tok) if "." in tok else int(tok)

    def op(self, f, a):
        if f == "px":
            return ("px", a[0], a[1])
        if f == "center":
            return ("p", list(self.pos(a[0])))
        if f in ("width", "depth", "height", "volume", "cam_dist"):
            return self.key(f, a[0])
        if f == "dist":
            return float(np.linalg.norm(self.pos(a[0]) - self.pos(a[1])))
        if f == "vec":
            return ("p", list(self.pos(a[1]) - self.pos(a[0])))
        if f == "component":
            d = self.pos(a[1]) - self.pos(a[0])
            return {"x": abs(d[0]), "y": abs(d[1]), "vertical": abs(d[2]), "horizontal": float(np.hypot(d[0], d[1]))}[a[2]]
        if f in ("side", "rel", "quadrant"):
            d = self.pos(a[0]) - self.pos(a[1])
            n = float(np.linalg.norm(d))
            words = {"x": "right" if d[0] > 0 else "left", "y": "behind" if d[1] > 0 else "in front",
                     "z": "above" if d[2] > 0 else "below"}
            if f == "quadrant":
                self.need("abs", d[0], n)
                self.need("abs", d[1], n)
                return f"{words['y']} and to the {words['x']}"
            axis = a[2] if f == "side" else {"left": "x", "right": "x", "in front": "y", "behind": "y", "above": "z", "below": "z"}[a[2]]
            self.need("abs", d["xyz".index(axis)], n)
            return words[axis] if f == "side" else bool(words[axis] == a[2])
        if f == "clock":
            d = self.pos(a[0]) - self.pos(a[1])
            ang = math.degrees(math.atan2(d[0], d[1]))
            hour = round(ang / 30) % 12 or 12
            self.need("angle", 15 - abs(ang - 30 * round(ang / 30)), 0)
            return hour
        if f == "facing":
            deg = math.degrees(self.o[a[0][1]]["front_yaw"])
            k = round(deg / 45) % 8
            self.need("angle", 22.5 - abs((deg - 45 * round(deg / 45))), 0)
            fb = {1: "away from the camera", 2: "away from the camera", 3: "away from the camera",
                  5: "toward the camera", 6: "toward the camera", 7: "toward the camera"}.get(k)
            lr = {0: "to the right", 1: "to the right", 7: "to the right", 3: "to the left", 4: "to the left", 5: "to the left"}.get(k)
            return f"{fb} and {lr}" if fb and lr else (fb or lr)
        if f in ("pside", "prel", "pquadrant"):
            d = self.pos(a[0]) - self.pos(a[1])
            fy = self.o[a[1][1]]["front_yaw"]
            # rotate the offset by -fy so the viewer's front is +x and its left is +y
            c, s = math.cos(-fy), math.sin(-fy)
            local = (c * d[0] - s * d[1], s * d[0] + c * d[1])
            n = float(np.linalg.norm(d))
            lr = "left" if local[1] > 0 else "right"
            fb = "in front" if local[0] > 0 else "behind"
            if f == "pquadrant":
                self.need("abs", local[0], n)
                self.need("abs", local[1], n)
                return f"{fb} and to the {lr}"
            which = "lr" if (f == "pside" and a[2] == "lr") or a[2] in ("left", "right") else "fb"
            self.need("abs", local[1] if which == "lr" else local[0], n)
            w = lr if which == "lr" else fb
            return w if f == "pside" else bool(w == a[2])
        if f in ("count_within", "count_rel"):
            n = 0
            for oid, ob in self.o.items():
                if oid == a[1][1] or ob["label"].replace("_", " ") != a[0]:
                    continue
                d = self.pos(("o", oid)) - self.pos(a[1])
                dist = float(np.linalg.norm(d))
                if f == "count_within":
                    self.need("abs", dist - a[2], max(dist, a[2]))
                    n += dist < a[2]
                else:
                    k = 0 if a[2] in ("left", "right") else 1
                    self.need("abs", d[k], dist)
                    n += (d[k] < 0) == (a[2] in ("left", "in front"))
            return n
        if f in ("argmin", "argmax", "order", "nearest"):
            if f == "nearest":
                p = self.pos(a[0])
                vals = [float(np.linalg.norm(self.pos(r) - p)) for r in a[1:]]
                key = "dist"
            else:
                key = a[0].lstrip("-")
                vals = [self.key(key, r) for r in a[1:]]
            srt = sorted(vals)
            kind = "ratio" if key == "volume" else "abs"
            if f == "order":
                for x, y in zip(srt, srt[1:]):
                    self.need(kind, y - x if kind == "abs" else y / x, y)
                items = sorted(zip(vals, [r[1] for r in a[1:]]), reverse=a[0].startswith("-"))
                return [i for _, i in items]
            lo_or_hi = (srt[0], srt[1]) if f in ("argmin", "nearest") else (srt[-1], srt[-2])
            self.need(kind, lo_or_hi[1] - lo_or_hi[0] if kind == "abs" else max(lo_or_hi) / min(lo_or_hi), max(lo_or_hi))
            best = min(vals) if f in ("argmin", "nearest") else max(vals)
            return vals.index(best) + 1
        if f == "gap":
            ci, cj = self.pos(a[0])[:2], self.pos(a[1])[:2]
            u = (cj - ci) / np.linalg.norm(cj - ci)
            return float(np.linalg.norm(cj - ci)) - self.reach(a[0][1], u) - self.reach(a[1][1], -u)
        if f == "footprint_min":
            return min(self.o[a[0][1]]["width"], self.o[a[0][1]]["depth"])
        if f == "moved":
            return ("p", list(self.pos(a[0]) + np.array(a[1:4], float)))
        if f in ("gt", "lt"):
            x, y = a
            if self._volume:
                self.need("ratio", max(x, y) / min(x, y), max(x, y))
            else:
                self.need("abs", x - y, max(abs(x), abs(y)))
            return bool(x > y) if f == "gt" else bool(x < y)
        if f == "eq":
            return bool(a[0] == a[1])
        if f == "sub":
            return a[0] - a[1]
        if f == "near":
            x = self.pos(a[0]) if isinstance(a[0], tuple) else np.asarray(a[0])
            return bool(float(np.linalg.norm(x - np.asarray(a[1][1]))) <= a[2])
        raise AssertionError(f"unknown op {f}")

    def run(self, program: str):
        self._volume = "volume(" in program and ("gt(" in program or "lt(" in program)
        env: dict = {}
        out = None
        for line in program.splitlines():
            name, expr = line.split(" = ", 1)
            out = env[name] = self.value(expr, env)
        if isinstance(out, tuple) and out[0] in ("p", "px"):
            return [float(v) for v in self.pos(out)]
        return out

    def margins_ok(self) -> bool:
        for kind, diff, scale in self.checks:
            if kind == "abs" and abs(diff) < max(MARGIN_ABS, MARGIN_REL * abs(scale)) - 1e-9:
                return False
            if kind == "ratio" and diff < VOLUME_RATIO - 1e-9:
                return False
            if kind == "angle" and diff < ANGLE_MARGIN - 1e-9:
                return False
        return True


UNIT = {"m": 1.0, "cm": 0.01, "in": 0.0254, "ft": 0.3048}
HALF = {"m": 0.005, "cm": 0.005, "in": 0.0127, "ft": 0.01524}


def option_meters(text: str) -> tuple[float, str] | None:
    m = re.fullmatch(r"([-\d.]+) (m|cm|inches|feet)", text)
    if not m:
        return None
    u = {"inches": "in", "feet": "ft"}.get(m.group(2), m.group(2))
    return float(m.group(1)) * UNIT[u], u


def check_row(row: dict, rc: Recompute) -> str | None:
    """None when the row's answer follows from the geometry, else why not."""
    av = json.loads(row["answer_value"])
    truth = rc.run(row["program"])
    last_op = row["program"].splitlines()[-1].split(" = ", 1)[1].split("(")[0]
    if row["format"] == "boolean":
        return None if (truth is av["bool"]) and row["answer"] == ("Yes" if truth else "No") else f"{truth} vs {av}"
    if row["format"] == "choice":
        pos = "ABCD".index(av["choice"])
        opts = av["options"]
        if not row["answer"].startswith(av["choice"] + ". "):
            return "answer text letter"
        if last_op in ("argmin", "argmax", "nearest"):
            return None if truth == pos + 1 else f"{truth} vs {pos + 1}"
        if isinstance(truth, float):
            parsed = [option_meters(o) for o in opts]
            good = [i for i, p in enumerate(parsed) if abs(p[0] - truth) <= HALF[p[1]] + 1e-9]
            return None if good == [pos] else f"numeric options {good} vs {pos}"
        if isinstance(truth, list):
            parsed = [[float(x) for x in o.strip("()").split(",")] for o in opts]
            good = [i for i, p in enumerate(parsed) if max(abs(x - y) for x, y in zip(p, truth)) <= 0.005 + 1e-9]
            return None if good == [pos] else f"xyz options {good} vs {pos}"
        want = f"{truth} o'clock" if last_op == "clock" else str(truth)
        return None if opts[pos] == want and opts.count(want) == 1 else f"{opts[pos]!r} vs {want!r}"
    if isinstance(truth, list) and "xyz" in av:
        return None if np.allclose(av["xyz"], truth, atol=6e-4) else f"xyz {av['xyz']} vs {truth}"
    if "order" in av:
        return None if av["order"] == truth else "order"
    if "count" in av:
        return None if av["count"] == truth and row["answer"] == str(truth) else "count"
    if "clock" in av:
        return None if av["clock"] == truth else "clock"
    if "index" in av:
        return None if av["index"] == truth else "index"
    if "meters" in av:
        shown = float(av["value"]) * UNIT[av["unit"]]
        ok = abs(av["meters"] - truth) < 6e-4 and abs(shown - truth) <= HALF[av["unit"]] + 1e-9
        return None if ok else f"{av} vs {truth}"
    if "label" in av:
        return None if av["label"] == truth else f"{av['label']} vs {truth}"
    return "unknown shape"
