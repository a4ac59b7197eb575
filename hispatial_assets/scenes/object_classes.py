"""Object classes of the scene engine: metric sizes, colors, and how each is built from primitives.

Every builder works in the object's local frame: origin at the center of the footprint on the floor,
z up, width along x (the box's u axis), depth along y (v). Objects with a front face +y, so the
gravity-frame front yaw is ``yaw + pi/2`` (geometry conventions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from hispatial_assets.geometry.colors import PALETTE
from hispatial_assets.scenes.meshes import Mesh, MeshBuilder

# Named colors an object can have: the palette that color naming (geometry/colors.py) knows; the
# name is what referrals and QA say, the RGB the albedo used.
ALL_COLORS = tuple(PALETTE)

DARK = (30, 30, 32)
METAL = (150, 150, 155)
GLASS = (45, 52, 64)
SCREEN = (18, 22, 34)
SKIN = ((240, 200, 170), (200, 150, 110), (140, 95, 65), (95, 65, 45))
PANTS = ((40, 50, 90), (30, 30, 32), (90, 90, 95), (110, 90, 60))


@dataclass
class Built:
    """A built object: its local mesh and, for supports, the half sizes of its usable top."""

    mesh: Mesh
    top_half: tuple[float, float] | None = None


@dataclass(frozen=True)
class ObjectClass:
    label: str
    has_front: bool
    colors: tuple[str, ...]
    build: Callable[[np.random.Generator, tuple[int, int, int], bool], Built]
    weights: tuple[float, ...] | None = None  # color weights, uniform when None

    def pick_color(self, rng: np.random.Generator) -> str:
        p = None if self.weights is None else np.asarray(self.weights) / np.sum(self.weights)
        return str(self.colors[rng.choice(len(self.colors), p=p)])


def _shade(rgb, f: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(round(c * f), 0, 255)) for c in rgb)


def _secondary(rng: np.random.Generator, rgb) -> tuple[int, int, int]:
    """Legs and frames: the main color, a darker shade, black or metal."""
    return [rgb, _shade(rgb, 0.7), DARK, METAL][rng.integers(4)]


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


# ---------------------------------------------------------------------------------------- indoor


def build_table(rng, rgb, small=False) -> Built:
    h, t = _u(rng, 0.70, 0.78), _u(rng, 0.03, 0.05)
    legs = _secondary(rng, rgb)
    b = MeshBuilder()
    if rng.random() < 0.25:  # round pedestal table
        r = _u(rng, 0.4, 0.6)
        b.cylinder((0, 0, h - t / 2), r, t, rgb)
        b.cylinder((0, 0, (h - t) / 2), 0.04, h - t, legs)
        b.cylinder((0, 0, 0.015), 0.5 * r, 0.03, legs)
        half = r / np.sqrt(2.0)
        return Built(b.build(), (half, half))
    w = _u(rng, 0.8, 1.6)
    d = min(_u(rng, 0.6, 0.9), w)
    b.box((0, 0, h - t / 2), (w, d, t), rgb)
    leg, inset = _u(rng, 0.04, 0.06), _u(rng, 0.02, 0.08)
    for sx in (-1, 1):
        for sy in (-1, 1):
            x, y = sx * (w / 2 - inset - leg / 2), sy * (d / 2 - inset - leg / 2)
            b.box((x, y, (h - t) / 2), (leg, leg, h - t), legs)
    return Built(b.build(), (w / 2, d / 2))


def build_chair(rng, rgb, small=False) -> Built:
    w, d = _u(rng, 0.42, 0.52), _u(rng, 0.44, 0.54)
    seat_h, h = _u(rng, 0.42, 0.48), _u(rng, 0.80, 0.98)
    st, leg, bt = 0.05, _u(rng, 0.03, 0.045), _u(rng, 0.035, 0.06)
    legs = _secondary(rng, rgb)
    b = MeshBuilder()
    b.box((0, 0, seat_h - st / 2), (w, d, st), rgb)
    for sx in (-1, 1):
        for sy in (-1, 1):
            b.box((sx * (w / 2 - leg / 2), sy * (d / 2 - leg / 2), (seat_h - st) / 2), (leg, leg, seat_h - st), legs)
    b.box((0, -d / 2 + bt / 2, (seat_h + h) / 2), (w, bt, h - seat_h), rgb)  # back rest at -v
    return Built(b.build())


def build_stool(rng, rgb, small=False) -> Built:
    r, h, st = _u(rng, 0.15, 0.2), _u(rng, 0.45, 0.75), 0.04
    legs = _secondary(rng, rgb)
    b = MeshBuilder()
    b.cylinder((0, 0, h - st / 2), r, st, rgb)
    n = int(rng.integers(3, 5))
    for k in range(n):
        a = 2 * np.pi * k / n + np.pi / 4
        b.box((0.7 * r * np.cos(a), 0.7 * r * np.sin(a), (h - st) / 2), (0.03, 0.03, h - st), legs)
    return Built(b.build())


def build_sofa(rng, rgb, small=False) -> Built:
    w, d, h = _u(rng, 1.5, 2.3), _u(rng, 0.8, 0.98), _u(rng, 0.72, 0.9)
    seat_h, bd, aw, ah = _u(rng, 0.38, 0.46), _u(rng, 0.16, 0.24), _u(rng, 0.1, 0.2), _u(rng, 0.55, 0.65)
    cushion = _shade(rgb, 1.12)
    b = MeshBuilder()
    base_h = 0.6 * seat_h  # back, arms and cushions sit on the base: no coplanar faces
    b.box((0, 0, base_h / 2), (w, d, base_h), _shade(rgb, 0.8))
    b.box((0, bd / 2, base_h + (seat_h - base_h) / 2), (w - 2 * aw, d - bd, seat_h - base_h), cushion)
    b.box((0, -d / 2 + bd / 2, (base_h + h) / 2), (w, bd, h - base_h), rgb)  # back at -v
    for sx in (-1, 1):
        b.box((sx * (w / 2 - aw / 2), bd / 2, (base_h + ah) / 2), (aw, d - bd, ah - base_h), rgb)
    return Built(b.build())


def build_bed(rng, rgb, small=False) -> Built:
    w, d = _u(rng, 0.9, 1.8), _u(rng, 1.95, 2.15)
    frame_h, mat, hb, hbt = _u(rng, 0.22, 0.32), _u(rng, 0.18, 0.24), _u(rng, 0.9, 1.2), 0.06
    frame = [(125, 80, 45), (235, 235, 230), DARK, (128, 128, 128)][rng.integers(4)]
    b = MeshBuilder()
    b.box((0, 0, frame_h / 2), (w, d, frame_h), frame)
    b.box((0, -d / 2 + hbt / 2, hb / 2), (w, hbt, hb), frame)  # headboard at -v
    ml = d - hbt
    b.box((0, hbt / 2, frame_h + mat / 2), (w - 0.04, ml - 0.02, mat), rgb)  # mattress under a blanket
    n_pillows = 1 if w < 1.2 else 2
    pw = (w - 0.2) / n_pillows
    for k in range(n_pillows):
        x = -w / 2 + 0.1 + pw * (k + 0.5)
        b.box((x, -d / 2 + hbt + 0.22, frame_h + mat + 0.06), (pw - 0.06, 0.34, 0.12), (240, 240, 235))
    return Built(b.build())


def build_lamp(rng, rgb, small=False) -> Built:
    pole = [DARK, METAL, (235, 235, 230)][rng.integers(3)]
    b = MeshBuilder()
    if small:  # table lamp
        h, br, bt, sr, sh = _u(rng, 0.32, 0.5), _u(rng, 0.06, 0.08), 0.02, _u(rng, 0.09, 0.13), _u(rng, 0.13, 0.18)
        pr = 0.01
    else:  # floor lamp
        h, br, bt, sr, sh = _u(rng, 1.35, 1.75), _u(rng, 0.12, 0.16), 0.03, _u(rng, 0.16, 0.23), _u(rng, 0.22, 0.3)
        pr = 0.015
    b.cylinder((0, 0, bt / 2), br, bt, pole)
    top = h - 0.5 * sh
    b.cylinder((0, 0, (bt + top) / 2), pr, top - bt, pole)
    b.cylinder((0, 0, h - sh / 2), sr, sh, rgb)
    return Built(b.build())


def build_cabinet(rng, rgb, small=False) -> Built:
    w, d, h = _u(rng, 0.5, 1.2), _u(rng, 0.38, 0.6), _u(rng, 0.7, 1.2)
    handle = [DARK, METAL][rng.integers(2)]
    b = MeshBuilder()
    b.box((0, -0.01, h / 2), (w, d - 0.02, h), rgb)
    front = d / 2 - 0.02
    b.box((0, front + 0.001, 0.04), (w - 0.02, 0.002, 0.06), _shade(rgb, 0.6))  # kick plate
    if w > 0.75:  # two doors: a seam and two handles
        b.box((0, front + 0.001, h / 2 + 0.02), (0.008, 0.002, h - 0.12), _shade(rgb, 0.6))
        xs = (-0.06, 0.06)
    else:
        xs = (w / 2 - 0.08,)
    for x in xs:
        b.box((x, d / 2 - 0.01, 0.72 * h), (0.02, 0.02, 0.12), handle)
    return Built(b.build(), (w / 2, d / 2 - 0.02))


def build_shelf(rng, rgb, small=False) -> Built:
    w, d = _u(rng, 0.6, 1.2), _u(rng, 0.28, 0.4)
    h = _u(rng, 0.75, 1.25) if rng.random() < 0.5 else _u(rng, 1.5, 2.0)
    t = 0.025
    b = MeshBuilder()
    for sx in (-1, 1):
        b.box((sx * (w / 2 - t / 2), 0, h / 2), (t, d, h), rgb)
    b.box((0, -d / 2 + 0.005, h / 2), (w - 2 * t, 0.01, h), _shade(rgb, 0.85))  # back panel at -v
    levels = max(2, int(round(h / 0.38)))
    zs = np.linspace(t / 2, h - t / 2, levels + 1)
    for z in zs:
        b.box((0, 0.005, z), (w - 2 * t, d - 0.01, t), rgb)
    colors = list(PALETTE.values())
    for z0, z1 in zip(zs[:-1] + t / 2, zs[1:] - t / 2):  # books on every board but the top
        x = -w / 2 + t + _u(rng, 0.0, 0.1)
        while True:
            bw, bh = _u(rng, 0.02, 0.05), _u(rng, 0.5, 0.85) * (z1 - z0)
            if x + bw > w / 2 - t - 0.01 or rng.random() < 0.08:
                break
            bd = _u(rng, 0.6, 0.85) * (d - 0.02)
            b.box((x + bw / 2, 0.0, z0 + bh / 2), (bw, bd, bh), colors[rng.integers(len(colors))])
            x += bw + (0.0 if rng.random() < 0.8 else _u(rng, 0.05, 0.2))
    top = (w / 2, d / 2) if h <= 1.3 else None  # only low shelves get things put on top
    return Built(b.build(), top)


def build_plant(rng, rgb, small=False) -> Built:
    pot = PALETTE[["white", "brown", "gray", "orange", "black", "red", "blue"][rng.integers(7)]]
    if small:
        pr, ph, h = _u(rng, 0.05, 0.08), _u(rng, 0.08, 0.14), _u(rng, 0.2, 0.4)
    else:
        pr, ph, h = _u(rng, 0.11, 0.2), _u(rng, 0.2, 0.35), _u(rng, 0.5, 1.3)
    fr = (h - ph) / 1.8
    leaf = _shade(rgb, _u(rng, 0.8, 1.1))
    b = MeshBuilder()
    b.cylinder((0, 0, ph / 2), pr, ph, pot)
    b.ellipsoid((0, 0, ph + 0.8 * fr), (fr * _u(rng, 0.75, 1.05), fr * _u(rng, 0.75, 1.05), fr), leaf)
    for _ in range(int(rng.integers(1, 3))):
        a = _u(rng, 0, 2 * np.pi)
        r = fr * 0.55
        b.ellipsoid((0.45 * fr * np.cos(a), 0.45 * fr * np.sin(a), ph + 0.6 * fr), (r, r, r), _shade(leaf, 0.85))
    return Built(b.build())


def build_monitor(rng, rgb, small=False) -> Built:
    sw = _u(rng, 0.48, 0.72)
    sh, pt = sw * _u(rng, 0.56, 0.62), 0.03
    bw, bd, lift = _u(rng, 0.18, 0.25), _u(rng, 0.15, 0.2), _u(rng, 0.08, 0.15)
    b = MeshBuilder()
    b.box((0, 0, 0.0075), (bw, bd, 0.015), rgb)
    b.box((0, -0.045, 0.015 + (lift - 0.015 + 0.1) / 2), (0.05, 0.03, lift - 0.015 + 0.1), rgb)
    b.box((0, -0.015, lift + sh / 2), (sw, pt, sh), rgb)
    b.box((0, -0.015 + pt / 2 + 0.002, lift + sh / 2), (sw - 0.03, 0.004, sh - 0.03), SCREEN)  # screen at +v
    return Built(b.build())


def build_box(rng, rgb, small=False) -> Built:
    if small:
        w, d, h = _u(rng, 0.12, 0.3), _u(rng, 0.1, 0.25), _u(rng, 0.08, 0.22)
    else:
        w, d, h = _u(rng, 0.25, 0.6), _u(rng, 0.25, 0.5), _u(rng, 0.2, 0.5)
    b = MeshBuilder().box((0, 0, h / 2), (w, d, h), rgb)
    return Built(b.build(), (w / 2, d / 2))


def build_bottle(rng, rgb, small=False) -> Built:
    h, r = _u(rng, 0.2, 0.32), _u(rng, 0.028, 0.045)
    body, nr = 0.62 * h, _u(rng, 0.011, 0.015)
    cap = [(235, 235, 230), DARK, (200, 40, 40), METAL][rng.integers(4)]
    b = MeshBuilder()
    b.cylinder((0, 0, body / 2), r, body, rgb)
    b.cone((0, 0, body), r, 0.2 * h, rgb)
    b.cylinder((0, 0, (body + h - 0.02) / 2), nr, h - 0.02 - body, rgb)
    b.cylinder((0, 0, h - 0.01), nr + 0.002, 0.02, cap)
    return Built(b.build())


def build_mug(rng, rgb, small=False) -> Built:
    r, h = _u(rng, 0.038, 0.048), _u(rng, 0.085, 0.11)
    b = MeshBuilder()
    b.cylinder((0, 0, h / 2), r, h, rgb)
    b.box((r + 0.011, 0, h / 2), (0.024, 0.012, 0.55 * h), rgb)
    return Built(b.build())


# --------------------------------------------------------------------------------------- outdoor


def build_car(rng, rgb, small=False) -> Built:
    w, d, h = _u(rng, 1.7, 1.9), _u(rng, 3.9, 4.8), _u(rng, 1.4, 1.6)
    wr, body_top = _u(rng, 0.3, 0.34), _u(rng, 0.78, 0.9)
    b = MeshBuilder()
    z0 = 0.6 * wr
    # the wheels and lights stand a little proud of the body: coplanar faces would flicker
    b.box((0, 0, (z0 + body_top) / 2), (w - 0.06, d - 0.02, body_top - z0), rgb)
    cd = d * _u(rng, 0.45, 0.55)
    cy = -d * _u(rng, 0.02, 0.08)
    b.box((0, cy, (body_top + h - 0.04) / 2), (w * 0.9, cd, h - 0.04 - body_top), GLASS)
    b.box((0, cy, h - 0.02), (w * 0.9, cd * 0.92, 0.04), rgb)
    axle = d / 2 - _u(rng, 0.65, 0.85)
    for sx in (-1, 1):
        for sy in (-1, 1):
            b.cylinder((sx * (w / 2 - 0.1), sy * axle, wr), wr, 0.2, (25, 25, 25), axis="x")
        b.box((sx * (w / 2 - 0.22), d / 2 - 0.01, body_top - 0.12), (0.28, 0.02, 0.09), (245, 245, 215))  # front
        b.box((sx * (w / 2 - 0.18), -d / 2 + 0.01, body_top - 0.1), (0.22, 0.02, 0.08), (200, 25, 25))
    return Built(b.build())


def build_tree(rng, rgb, small=False) -> Built:
    tr, th = _u(rng, 0.1, 0.22), _u(rng, 1.5, 3.0)
    leaf = _shade(rgb, _u(rng, 0.65, 1.0))
    b = MeshBuilder()
    b.cylinder((0, 0, th / 2), tr, th, (95, 65, 40))
    if rng.random() < 0.7:
        r = _u(rng, 1.0, 2.2)
        rz = r * _u(rng, 0.9, 1.3)
        b.ellipsoid((0, 0, th + 0.7 * rz), (r, r * _u(rng, 0.85, 1.0), rz), leaf)
    else:
        b.cone((0, 0, 0.5 * th), _u(rng, 0.9, 1.6), _u(rng, 3.0, 6.0), _shade(leaf, 0.8))
    return Built(b.build())


def build_bench(rng, rgb, small=False) -> Built:
    w, d = _u(rng, 1.2, 1.8), _u(rng, 0.45, 0.6)
    seat_h, h = _u(rng, 0.42, 0.48), _u(rng, 0.8, 0.95)
    frame = [DARK, METAL, (60, 60, 62)][rng.integers(3)]
    b = MeshBuilder()
    for k in range(3):  # seat slats
        b.box((0, -d / 2 + 0.12 + (d - 0.17) * (k + 0.5) / 3, seat_h - 0.02), (w, (d - 0.17) / 3 - 0.02, 0.04), rgb)
    for k in range(2):  # back slats at -v
        b.box((0, -d / 2 + 0.03, seat_h + 0.12 + k * (h - seat_h - 0.12) / 2 + 0.06), (w, 0.03, 0.1), rgb)
    for sx in (-1, 1):
        b.box((sx * (w / 2 - 0.12), 0.03, (seat_h - 0.04) / 2), (0.05, d - 0.06, seat_h - 0.04), frame)
        b.box((sx * (w / 2 - 0.12), -d / 2 + 0.05, (seat_h + h) / 2 - 0.02), (0.05, 0.03, h - seat_h + 0.04), frame)
    return Built(b.build())


def build_person(rng, rgb, small=False) -> Built:
    h = _u(rng, 1.55, 1.9)
    s = h / 1.75
    sw = _u(rng, 0.42, 0.5) * s
    skin, pants = SKIN[rng.integers(len(SKIN))], PANTS[rng.integers(len(PANTS))]
    leg_top = 0.47 * h
    torso_top = h - 0.25 * s
    b = MeshBuilder()
    for sx in (-1, 1):
        b.box((sx * 0.09 * s, 0.05 * s, 0.035 * s), (0.1 * s, 0.26 * s, 0.07 * s), DARK)  # feet point to +v
        b.box((sx * 0.09 * s, 0, (0.07 * s + leg_top) / 2), (0.13 * s, 0.15 * s, leg_top - 0.07 * s), pants)
        b.box((sx * (sw / 2 - 0.04 * s), 0, torso_top - 0.3 * h / 2 - 0.02), (0.08 * s, 0.1 * s, 0.3 * h + 0.02), rgb)
    b.box((0, 0, (leg_top + torso_top) / 2), (sw - 0.16 * s, 0.22 * s, torso_top - leg_top), rgb)
    b.box((0, 0, torso_top + 0.03 * s), (0.07 * s, 0.07 * s, 0.06 * s), skin)
    b.ellipsoid((0, 0, h - 0.11 * s), (0.075 * s, 0.09 * s, 0.11 * s), skin)
    b.box((0, 0.09 * s, h - 0.12 * s), (0.02 * s, 0.03 * s, 0.04 * s), skin)  # nose at +v
    return Built(b.build())


def build_trash_can(rng, rgb, small=False) -> Built:
    r, h = _u(rng, 0.22, 0.3), _u(rng, 0.75, 1.0)
    b = MeshBuilder()
    b.cylinder((0, 0, (h - 0.04) / 2), r, h - 0.04, rgb)
    b.cylinder((0, 0, h - 0.02), r + 0.012, 0.04, _shade(rgb, 0.7))
    return Built(b.build())


_FURNITURE = ("brown", "white", "black", "gray")
CLASSES: dict[str, ObjectClass] = {c.label: c for c in [
    ObjectClass("table", False, _FURNITURE, build_table, (4, 2, 1, 1)),
    ObjectClass("chair", True, ALL_COLORS, build_chair),
    ObjectClass("stool", False, ALL_COLORS, build_stool),
    ObjectClass("sofa", True, ("red", "green", "blue", "gray", "brown", "black", "purple", "pink",
                               "yellow", "orange", "white"), build_sofa),
    ObjectClass("bed", True, ("white", "blue", "gray", "pink", "green", "red", "purple", "yellow"), build_bed),
    ObjectClass("lamp", False, ("white", "black", "yellow", "orange", "red", "gray", "blue", "green", "pink"),
                build_lamp),
    ObjectClass("cabinet", True, ("white", "brown", "gray", "black", "blue", "green"), build_cabinet),
    ObjectClass("shelf", True, _FURNITURE, build_shelf, (4, 2, 1, 1)),
    ObjectClass("plant", False, ("green",), build_plant),
    ObjectClass("monitor", True, ("black", "white", "gray"), build_monitor, (5, 1, 2)),
    ObjectClass("box", False, ("brown", "white", "red", "blue", "yellow"), build_box, (6, 1, 1, 1, 1)),
    ObjectClass("bottle", False, ("green", "blue", "brown", "white", "red", "orange", "yellow", "purple"),
                build_bottle),
    ObjectClass("mug", False, ALL_COLORS, build_mug),
    ObjectClass("car", True, ("red", "blue", "white", "black", "gray", "yellow", "green", "orange"), build_car),
    ObjectClass("tree", False, ("green",), build_tree),
    ObjectClass("bench", True, ("brown", "green", "black", "gray", "red"), build_bench, (4, 2, 1, 1, 1)),
    ObjectClass("person", True, ALL_COLORS, build_person),
    ObjectClass("trash_can", False, ("green", "gray", "black", "blue", "orange"), build_trash_can),
]}
INDOOR_LABELS = ("table", "chair", "stool", "sofa", "bed", "lamp", "cabinet", "shelf", "plant", "monitor",
                 "box", "bottle", "mug")
OUTDOOR_LABELS = ("car", "tree", "bench", "person", "trash_can")
WITH_FRONT = frozenset(c.label for c in CLASSES.values() if c.has_front)
# what may stand on what: support label -> labels of the things put on its top
SUPPORTS: dict[str, tuple[str, ...]] = {
    "table": ("mug", "bottle", "monitor", "lamp", "plant", "box"),
    "cabinet": ("mug", "bottle", "monitor", "lamp", "plant", "box"),
    "shelf": ("mug", "bottle", "lamp", "plant", "box"),
    "box": ("box",),
}
