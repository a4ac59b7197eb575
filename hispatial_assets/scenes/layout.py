"""Procedural scene layouts: a room or a street, a camera, and objects placed without overlap.

Layouts are made in a 2D *layout frame* (the room's own axes, floor at z = 0) and then moved into the
gravity frame of the camera (DESIGN §3): origin at the camera, y = camera forward made horizontal,
z up, so the floor ends at z = -camera height. All ground truth is stated in that gravity frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hispatial_assets.geometry.camera import intrinsics_from_fov
from hispatial_assets.geometry.frames import rotation_from_roll_pitch, wrap_angle
from hispatial_assets.scenes.object_classes import CLASSES, PALETTE, SUPPORTS, Built
from hispatial_assets.scenes.meshes import Mesh

KINDS = ("indoor", "outdoor")


@dataclass(frozen=True)
class Camera:
    height_m: float
    roll_deg: float
    pitch_deg: float  # positive looks down
    fov_deg: float  # horizontal

    @property
    def rotation(self) -> np.ndarray:
        """Camera-to-gravity rotation."""
        return rotation_from_roll_pitch(self.roll_deg, self.pitch_deg)

    def intrinsics(self, width: int, height: int) -> np.ndarray:
        return intrinsics_from_fov(width, height, self.fov_deg)


@dataclass
class SceneObject:
    """One object with its ground truth in the gravity frame and its mesh (gravity frame too)."""

    object_id: int  # 1-based, scene order; `render` renumbers the objects that end up visible
    label: str
    color: str
    center: np.ndarray  # (3,) box center
    extents: np.ndarray  # (3,) width, depth, height
    yaw: float  # box yaw: width along (cos yaw, sin yaw, 0)
    front_yaw: float | None  # yaw + pi/2 for objects with a front, else None
    mesh: Mesh
    supported_by: int | None = None  # object_id of the object it stands on
    top_half: tuple[float, float] | None = None  # usable top (supports only), local half sizes

    @property
    def color_rgb(self) -> tuple[int, int, int]:
        return PALETTE[self.color]

    @property
    def top_z(self) -> float:
        return float(self.center[2] + self.extents[2] / 2)


@dataclass
class Surface:
    """Background plane (floor, wall, ceiling, ground, facade): instance 0 in the renders.

    Planes are intersected analytically (exact, and cheaper than meshes in the BVH). The plane is
    ``normal . p + offset = 0`` with ``normal`` toward the camera, so ``offset > 0``. ``origin`` and
    ``axes`` (2, 3) give texture coordinates in meters; ``extent`` (u0, u1, v0, v1) bounds a finite
    surface in them, None for an unbounded plane.
    """

    kind: str
    normal: np.ndarray
    offset: float
    rgb: tuple[int, int, int]
    pattern: str = "plain"
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))
    axes: np.ndarray = field(default_factory=lambda: np.eye(3)[:2])
    extent: tuple[float, float, float, float] | None = None
    params: dict = field(default_factory=dict)


def _plane(kind: str, point, normal, rgb, **kw) -> Surface:
    n = np.asarray(normal, dtype=np.float64)
    n = n / np.linalg.norm(n)
    offset = -float(n @ np.asarray(point, dtype=np.float64))
    if offset < 0:  # make the normal face the camera (the origin)
        n, offset = -n, -offset
    return Surface(kind, n, offset, rgb, **kw)


@dataclass
class Scene:
    seed: int
    kind: str
    camera: Camera
    objects: list[SceneObject]
    surfaces: list[Surface]
    light_dir: np.ndarray  # unit vector toward the light, gravity frame
    ambient: float

    @property
    def floor_height(self) -> float:
        return -self.camera.height_m


# ----------------------------------------------------------------------------------- placement


@dataclass
class _Footprint:
    center: np.ndarray  # (2,) layout frame
    yaw: float
    half: np.ndarray  # (2,) half width, half depth

    def axes(self) -> np.ndarray:
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        return np.array([[c, s], [-s, c]])

    def corners(self) -> np.ndarray:
        a = self.axes()
        signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
        return self.center + (signs * self.half) @ a

    def overlaps(self, other: _Footprint, clearance: float) -> bool:
        """Separating-axis test of two oriented rectangles grown by ``clearance``."""
        d = other.center - self.center
        a, b = self.axes(), other.axes()
        ha, hb = self.half + clearance / 2, other.half + clearance / 2
        for axis in np.concatenate([a, b]):
            ra = np.abs(a @ axis) @ ha
            rb = np.abs(b @ axis) @ hb
            if abs(d @ axis) > ra + rb:
                return False
        return True


class _Layout:
    """Places objects in the layout frame and moves them into the camera's gravity frame."""

    def __init__(self, rng: np.random.Generator, camera: Camera, cam_xy, heading: float,
                 bounds: tuple[float, float, float, float] | None, max_objects: int):
        self.rng, self.camera = rng, camera
        self.cam_xy = np.asarray(cam_xy, dtype=np.float64)
        self.heading = heading  # layout-frame angle of the camera's horizontal forward
        self.bounds = bounds  # (x0, y0, x1, y1) the objects must stay inside, or None
        self.max_objects = max_objects
        self.objects: list[SceneObject] = []
        # object_id -> layout-frame pose (xy, yaw, z of the bottom) and footprint
        self.poses: dict[int, tuple[np.ndarray, float, float, _Footprint]] = {}
        self.yaw_offset = np.pi / 2 - heading  # layout yaw -> gravity yaw

    @property
    def full(self) -> bool:
        return len(self.objects) >= self.max_objects

    def to_gravity_xy(self, p: np.ndarray) -> np.ndarray:
        c, s = np.cos(self.yaw_offset), np.sin(self.yaw_offset)
        q = np.asarray(p, dtype=np.float64) - self.cam_xy
        return q @ np.array([[c, s], [-s, c]])

    def in_view(self, xy: np.ndarray, margin_deg: float = 12.0, min_dist: float = 1.2,
                max_dist: float = np.inf) -> bool:
        g = self.to_gravity_xy(xy)
        ang = np.degrees(np.arctan2(g[0], g[1]))
        return bool(g[1] > min_dist and abs(ang) < self.camera.fov_deg / 2 + margin_deg
                    and np.hypot(*g) < max_dist)

    def _fits(self, fp: _Footprint, clearance: float) -> bool:
        corners = fp.corners()
        if self.bounds is not None:
            x0, y0, x1, y1 = self.bounds
            lo, hi = corners.min(axis=0), corners.max(axis=0)
            if lo[0] < x0 or hi[0] > x1 or lo[1] < y0 or hi[1] > y1:
                return False
        cam = _Footprint(self.cam_xy, 0.0, np.array([0.35, 0.35]))
        if fp.overlaps(cam, 0.0):
            return False
        return not any(o.supported_by is None and fp.overlaps(self.poses[o.object_id][3], clearance)
                       for o in self.objects)

    def _footprint(self, built: Built, xy, yaw: float) -> _Footprint:
        lo, hi = built.mesh.bounds()
        c, s = np.cos(yaw), np.sin(yaw)
        off = (lo[:2] + hi[:2]) / 2
        center = np.asarray(xy, dtype=np.float64) + np.array([c * off[0] - s * off[1], s * off[0] + c * off[1]])
        return _Footprint(center, yaw, (hi[:2] - lo[:2]) / 2)

    def _add(self, label: str, color: str, built: Built, xy, yaw: float, z: float,
             fp: _Footprint, supported_by: int | None) -> SceneObject:
        g_xy = self.to_gravity_xy(xy)
        g_yaw = float(wrap_angle(yaw + self.yaw_offset))
        floor = -self.camera.height_m
        local = built.mesh
        lo, hi = local.bounds()
        mesh = local.transformed(g_yaw, np.array([g_xy[0], g_xy[1], floor + z]))
        c, s = np.cos(g_yaw), np.sin(g_yaw)
        mid = (lo + hi) / 2
        center = np.array([g_xy[0] + c * mid[0] - s * mid[1], g_xy[1] + s * mid[0] + c * mid[1], floor + z + mid[2]])
        front = float(wrap_angle(g_yaw + np.pi / 2)) if CLASSES[label].has_front else None
        obj = SceneObject(len(self.objects) + 1, label, color, center, hi - lo, g_yaw, front, mesh,
                          supported_by, built.top_half)
        self.poses[obj.object_id] = (np.asarray(xy, dtype=np.float64), float(yaw), float(z), fp)
        self.objects.append(obj)
        return obj

    def build(self, label: str, small: bool = False, color: str | None = None) -> tuple[str, Built]:
        cls = CLASSES[label]
        color = color or cls.pick_color(self.rng)
        return color, cls.build(self.rng, PALETTE[color], small)

    def place(self, label: str, sampler, *, attempts: int = 40, clearance: float = 0.06,
              color: str | None = None, small: bool = False) -> SceneObject | None:
        """Reject-sample a floor pose ``sampler(built) -> (xy, yaw)`` until the footprint is free."""
        if self.full:
            return None
        color, built = self.build(label, small, color)
        for _ in range(attempts):
            pose = sampler(built)
            if pose is None:
                continue
            xy, yaw = pose
            fp = self._footprint(built, xy, yaw)
            if self._fits(fp, clearance):
                return self._add(label, color, built, xy, yaw, 0.0, fp, None)
        return None

    def place_on(self, label: str, support: SceneObject, *, attempts: int = 25,
                 color: str | None = None) -> SceneObject | None:
        """Put a small object on a support's top, inside its top and clear of what is already there."""
        if self.full or support.top_half is None:
            return None
        color, built = self.build(label, small=True, color=color)
        s_xy, s_yaw, s_z, _ = self.poses[support.object_id]
        top_z = s_z + support.extents[2]
        lo, hi = built.mesh.bounds()
        radius = float(np.hypot(*np.maximum(np.abs(lo[:2]), np.abs(hi[:2]))))
        room = np.asarray(support.top_half) - radius - 0.01
        if np.any(room < 0):
            return None
        others = [self.poses[o.object_id][3] for o in self.objects if o.supported_by == support.object_id]
        for _ in range(attempts):
            local = self.rng.uniform(-room, room)
            c, s = np.cos(s_yaw), np.sin(s_yaw)
            xy = s_xy + np.array([c * local[0] - s * local[1], s * local[0] + c * local[1]])
            if label == "monitor":  # monitors face roughly where the camera is
                to_cam = self.cam_xy - xy
                yaw = float(np.arctan2(-to_cam[0], to_cam[1])) + self.rng.normal(0.0, 0.35)
            else:
                yaw = float(self.rng.uniform(-np.pi, np.pi))
            fp = self._footprint(built, xy, yaw)
            if not any(fp.overlaps(o, 0.02) for o in others):
                return self._add(label, color, built, xy, yaw, top_z, fp, support.object_id)
        return None


def _yaw_facing(direction: np.ndarray) -> float:
    """Layout yaw whose +v axis points along ``direction``."""
    return float(np.arctan2(-direction[0], direction[1]))


# --------------------------------------------------------------------------------------- indoor

_WALL_RGB = ((232, 228, 218), (215, 222, 230), (230, 215, 200), (205, 215, 200), (240, 240, 240), (220, 205, 215))
_FLOOR = {"planks": ((150, 105, 65), (185, 140, 95), (120, 85, 55)), "tiles": ((200, 200, 195), (170, 160, 150)),
          "carpet": ((120, 120, 130), (140, 110, 90), (90, 100, 120))}


def _camera(rng: np.random.Generator, height_range: tuple[float, float]) -> Camera:
    pitch = rng.uniform(0.0, 15.0) if rng.random() < 0.88 else rng.uniform(-5.0, 0.0)
    roll = float(np.clip(rng.normal(0.0, 5.0), -15.0, 15.0))
    return Camera(float(rng.uniform(*height_range)), roll, float(pitch), float(rng.uniform(50.0, 80.0)))


def _indoor(rng: np.random.Generator, seed: int) -> Scene:
    lx, ly, lz = rng.uniform(4.0, 7.0), rng.uniform(4.5, 8.0), rng.uniform(2.5, 3.0)
    camera = _camera(rng, (1.0, 1.8))
    cam_xy = np.array([rng.uniform(0.3, 0.7) * lx, rng.uniform(0.2, 0.8)])
    heading = np.pi / 2 + rng.uniform(-0.35, 0.35)
    m = 0.02
    lay = _Layout(rng, camera, cam_xy, heading, (m, m, lx - m, ly - m), int(rng.integers(6, 16)))

    def anywhere(built):
        xy = rng.uniform([0.3, 0.3], [lx - 0.3, ly - 0.3])
        return (xy, float(rng.uniform(-np.pi, np.pi))) if lay.in_view(xy, margin_deg=6.0) else None

    def against_wall(built):
        lo, hi = built.mesh.bounds()
        hw, hd = (hi[0] - lo[0]) / 2, (hi[1] - lo[1]) / 2
        wall = int(rng.integers(3))  # the walls at x=0, x=lx and y=ly; y=0 is behind the camera
        gap = rng.uniform(0.01, 0.05)
        if wall == 0:
            xy, inward = np.array([hd + gap, rng.uniform(hw, ly - hw)]), np.array([1.0, 0.0])
        elif wall == 1:
            xy, inward = np.array([lx - hd - gap, rng.uniform(hw, ly - hw)]), np.array([-1.0, 0.0])
        else:
            xy, inward = np.array([rng.uniform(hw, lx - hw), ly - hd - gap]), np.array([0.0, -1.0])
        return (xy, _yaw_facing(inward)) if lay.in_view(xy, margin_deg=10.0) else None

    # 1. furniture against the walls
    wall_labels = ["cabinet", "shelf", "sofa", "bed"]
    n_wall = int(rng.integers(1, 4))
    for label in rng.choice(wall_labels, size=n_wall, replace=False, p=[0.35, 0.3, 0.22, 0.13]):
        lay.place(str(label), against_wall)
    # 2. a table with chairs around it
    if rng.random() < 0.75:
        def table_pose(built):
            xy = rng.uniform([0.8, 0.8], [lx - 0.8, ly - 0.8])
            yaw = rng.integers(2) * np.pi / 2 + rng.normal(0.0, 0.15)  # roughly along the room's axes
            return (xy, float(yaw)) if lay.in_view(xy, margin_deg=0.0, min_dist=1.8) else None

        table = lay.place("table", table_pose)
        if table is not None:
            _chairs_around(lay, table, int(rng.choice([1, 2, 3, 4], p=[0.15, 0.3, 0.3, 0.25])))
    # 3. things on tables, cabinets and low shelves; sometimes a row of bottles
    supports = [o for o in lay.objects if o.label in ("table", "cabinet", "shelf") and o.top_half is not None]
    if supports:
        for _ in range(int(rng.integers(2, 7))):
            s = supports[rng.integers(len(supports))]
            label = str(rng.choice(SUPPORTS[s.label], p=_SMALL_P[s.label]))
            if label == "bottle" and rng.random() < 0.4:
                for _ in range(3):
                    lay.place_on("bottle", s)
            else:
                lay.place_on(label, s)
    # 4. fill the floor
    free = ["plant", "box", "lamp", "chair", "stool", "boxes"]
    tries = 0
    while not lay.full and tries < 30:
        tries += 1
        label = str(rng.choice(free, p=[0.25, 0.2, 0.15, 0.15, 0.1, 0.15]))
        if label == "boxes":  # a pile: a few boxes side by side, one stacked
            base = lay.place("box", anywhere)
            if base is not None:
                lay.place_on("box", base, color=base.color)
                lay.place("box", lambda built: _beside(lay, base, built), color=base.color)
        else:
            lay.place(label, anywhere)
    surfaces = _room_surfaces(rng, lay, lx, ly, lz)
    return Scene(seed, "indoor", camera, lay.objects, surfaces, _light(rng, lay), float(rng.uniform(0.35, 0.45)))


# how likely each small thing is on a support (order of catalog.SUPPORTS)
_SMALL_P = {"table": (0.25, 0.2, 0.2, 0.15, 0.1, 0.1), "cabinet": (0.2, 0.2, 0.15, 0.2, 0.15, 0.1),
            "shelf": (0.2, 0.25, 0.2, 0.2, 0.15), "box": (1.0,)}


def _chairs_around(lay: _Layout, table: SceneObject, n: int) -> None:
    t_xy, t_yaw, _, _ = lay.poses[table.object_id]
    c, s = np.cos(t_yaw), np.sin(t_yaw)
    u, v = np.array([c, s]), np.array([-s, c])
    hw, hd = table.extents[0] / 2, table.extents[1] / 2
    spots = []
    for normal, tangent, reach, along in ((v, u, hd, hw), (-v, u, hd, hw), (u, v, hw, hd), (-u, v, hw, hd)):
        k = max(1, int(2 * along / 0.6))
        for off in (np.arange(k) + 0.5) / k * 2 * along - along:
            spots.append((normal, tangent, reach, off))
    order = lay.rng.permutation(len(spots))
    color = CLASSES["chair"].pick_color(lay.rng)  # a dining set shares one color
    placed = 0
    for i in order:
        if placed >= n:
            break
        normal, tangent, reach, off = spots[i]

        def pose(built, normal=normal, tangent=tangent, reach=reach, off=off):
            lo, hi = built.mesh.bounds()
            dist = reach + lay.rng.uniform(0.08, 0.25) + (hi[1] - lo[1]) / 2
            xy = t_xy + normal * dist + tangent * off
            return xy, _yaw_facing(-normal) + float(lay.rng.normal(0.0, 0.12))

        if lay.place("chair", pose, attempts=4, clearance=0.04, color=color) is not None:
            placed += 1


def _beside(lay: _Layout, base: SceneObject, built: Built):
    xy, yaw, _, _ = lay.poses[base.object_id]
    a = lay.rng.uniform(-np.pi, np.pi)
    r = np.hypot(*base.extents[:2]) / 2 + 0.3
    return xy + r * np.array([np.cos(a), np.sin(a)]), yaw + lay.rng.normal(0.0, 0.3)


def _room_surfaces(rng: np.random.Generator, lay: _Layout, lx: float, ly: float, lz: float) -> list[Surface]:
    floor = -lay.camera.height_m
    ex = np.append(lay.to_gravity_xy(lay.cam_xy + [1.0, 0.0]), 0.0)  # room axes in the gravity frame
    ey = np.append(lay.to_gravity_xy(lay.cam_xy + [0.0, 1.0]), 0.0)
    corner = np.append(lay.to_gravity_xy(np.zeros(2)), floor)
    up = np.array([0.0, 0.0, 1.0])
    floor_kind = str(rng.choice(list(_FLOOR)))
    shades = _FLOOR[floor_kind]
    size = float(rng.uniform(0.12, 0.22)) if floor_kind == "planks" else float(rng.uniform(0.3, 0.6))
    out = [_plane("floor", corner, up, shades[rng.integers(len(shades))], pattern=floor_kind, origin=corner,
                  axes=np.stack([ex, ey]), params={"size": size}),
           _plane("ceiling", corner + up * lz, up, (245, 245, 242))]
    wall_rgb = _WALL_RGB[rng.integers(len(_WALL_RGB))]
    walls = ((corner, ex), (corner + ex * lx, ey), (corner + ex * lx + ey * ly, -ex), (corner + ey * ly, -ey))
    for k, (start, along) in enumerate(walls):
        rgb = tuple(int(c * (0.94 + 0.03 * k)) for c in wall_rgb)
        out.append(_plane("wall", start, np.cross(up, along), rgb, pattern="wall", origin=start,
                          axes=np.stack([along, up])))
    return out


def _light(rng: np.random.Generator, lay: _Layout) -> np.ndarray:
    a = rng.uniform(-np.pi, np.pi)
    elev = rng.uniform(np.radians(40), np.radians(70))
    d = np.array([np.cos(elev) * np.cos(a), np.cos(elev) * np.sin(a), np.sin(elev)])
    return d / np.linalg.norm(d)


# -------------------------------------------------------------------------------------- outdoor


def _outdoor(rng: np.random.Generator, seed: int) -> Scene:
    camera = _camera(rng, (1.2, 2.0))
    # layout frame = gravity frame horizontally (camera at the origin looking along +y)
    lay = _Layout(rng, camera, (0.0, 0.0), np.pi / 2, None, int(rng.integers(6, 16)))
    across = rng.random() < 0.6
    if across:  # a road crossing the view
        road_dir = np.array([np.cos(a := rng.uniform(-0.5, 0.5)), np.sin(a)])
        road_pt = np.array([0.0, rng.uniform(7.0, 14.0)])
    else:  # a road running away from the camera, off to one side
        road_dir = np.array([np.cos(a := np.pi / 2 + rng.uniform(-0.3, 0.3)), np.sin(a)])
        road_pt = np.array([rng.choice([-1.0, 1.0]) * rng.uniform(4.5, 7.0), 0.0])
    road_n = np.array([-road_dir[1], road_dir[0]])
    half_road = float(rng.uniform(3.2, 4.2))

    def off_road(xy, built) -> bool:
        lo, hi = built.mesh.bounds()
        r = np.hypot(*(hi[:2] - lo[:2])) / 2
        return abs((xy - road_pt) @ road_n) > half_road + r + 0.5

    def on_ground(built):
        xy = np.array([rng.uniform(-15.0, 15.0), rng.uniform(2.5, 22.0)])
        if not lay.in_view(xy, margin_deg=10.0, min_dist=2.5, max_dist=25.0) or not off_road(xy, built):
            return None
        return xy, float(rng.uniform(-np.pi, np.pi))

    def on_road(built):
        t = rng.uniform(-20.0, 20.0)
        lane = rng.choice([-1.0, 1.0])
        xy = road_pt + t * road_dir + lane * road_n * half_road / 2
        facing = road_dir * (1.0 if lane < 0 else -1.0)  # drive on the right
        if rng.random() < 0.2:  # parked the wrong way round
            facing = -facing
        ok = lay.in_view(xy, margin_deg=8.0, min_dist=4.0, max_dist=30.0)
        return (xy, _yaw_facing(facing) + float(rng.normal(0.0, 0.05))) if ok else None

    for _ in range(int(rng.integers(1, 5))):
        lay.place("car", on_road, clearance=0.8)
    for _ in range(int(rng.integers(1, 4))):
        lay.place("tree", on_ground, clearance=0.3)
    n_people = int(rng.choice([1, 2, 3, 4, 5], p=[0.2, 0.25, 0.25, 0.15, 0.15]))
    for _ in range(n_people):
        lay.place("person", on_ground, clearance=0.15)
    tries = 0
    while not lay.full and tries < 20:
        tries += 1
        label = str(rng.choice(["bench", "trash_can", "person", "tree", "car"], p=[0.3, 0.25, 0.25, 0.1, 0.1]))
        lay.place(label, on_road if label == "car" else on_ground, clearance=0.3)

    floor = -camera.height_m
    origin = np.array([road_pt[0], road_pt[1], floor])
    surfaces = [_plane("ground", origin, [0.0, 0.0, 1.0], (95, 125, 70), pattern="street", origin=origin,
                       axes=np.array([[*road_dir, 0.0], [*road_n, 0.0]]), extent=(-300.0, 300.0, -300.0, 300.0),
                       params={"half_road": half_road})]  # bounded: beyond 300 m the ground is sky
    if rng.random() < 0.75:  # a building facade behind the scene
        dist, w, h = rng.uniform(26.0, 40.0), 120.0, rng.uniform(8.0, 25.0)
        fa = rng.uniform(-0.35, 0.35)
        along, normal = np.array([np.cos(fa), np.sin(fa), 0.0]), np.array([-np.sin(fa), np.cos(fa), 0.0])
        start = normal * dist + np.array([0.0, 0.0, floor]) - along * w / 2
        rgb = [(190, 170, 150), (160, 90, 70), (200, 200, 195), (150, 150, 160)][rng.integers(4)]
        surfaces.append(_plane("facade", start, normal, rgb, pattern="facade", origin=start,
                               axes=np.stack([along, [0.0, 0.0, 1.0]]), extent=(0.0, w, 0.0, h),
                               params={"bay": float(rng.uniform(2.5, 4.0)), "storey": float(rng.uniform(3.0, 3.6))}))
    light = np.array([np.cos(a := rng.uniform(-np.pi, np.pi)), np.sin(a), rng.uniform(0.8, 2.0)])
    return Scene(seed, "outdoor", camera, lay.objects, surfaces, light / np.linalg.norm(light),
                 float(rng.uniform(0.4, 0.5)))


def generate_scene(seed: int, kind: str = "indoor") -> Scene:
    """A procedural scene, fully determined by ``seed`` and ``kind`` ("indoor" or "outdoor")."""
    if kind not in KINDS:
        raise ValueError(f"unknown scene kind {kind!r}; expected one of {KINDS}")
    rng = np.random.default_rng([int(seed), KINDS.index(kind)])
    return _indoor(rng, seed) if kind == "indoor" else _outdoor(rng, seed)
