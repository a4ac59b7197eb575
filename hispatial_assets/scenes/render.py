"""Ray-cast a scene into RGB, metric z-depth, instance ids and per-object ground truth.

Objects are meshes in one open3d ``RaycastingScene``: one ``cast_rays`` call for all pixels, one
``test_occlusions`` call for their shadows, one ``list_intersections`` call (on the few rays where one
object may hide another) for ``visible_fraction``. Background planes are intersected analytically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hispatial_assets.scenes.layout import Scene

# occluded: less than this share of the object's in-image pixels is visible. Both counts are taken
# inside the image, so truncation by the border does not count as occlusion and the rule applies to
# truncated objects too.
OCCLUDED_BELOW = 0.6
SURFACE_CODES = {"object": 0, "floor": 1, "ground": 1, "wall": 2, "ceiling": 3, "facade": 4, "sky": 5}
_SKY_HORIZON, _SKY_ZENITH = np.array([0.80, 0.87, 0.95]), np.array([0.36, 0.55, 0.85])


@dataclass
class RenderedImage:
    seed: int
    kind: str
    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32 z-depth in meters, camera frame; 0 = no hit (sky)
    instances: np.ndarray  # (H, W) uint16; 0 = background, else object_id
    surfaces: np.ndarray  # (H, W) uint8 SURFACE_CODES of the background under each pixel
    intrinsics: np.ndarray  # (3, 3)
    rotation: np.ndarray  # (3, 3) camera -> gravity
    floor_height: float
    roll_deg: float
    pitch_deg: float
    fov_deg: float
    objects: list[dict]  # ground truth of the visible objects, gravity frame (see `truth_dict`)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    def truth_dict(self) -> dict:
        """The ``<image_id>.truth.json`` document."""
        return {
            "seed": int(self.seed), "kind": self.kind, "width": self.width, "height": self.height,
            "intrinsics": np.asarray(self.intrinsics, dtype=np.float64).tolist(),
            "rotation": np.asarray(self.rotation, dtype=np.float64).tolist(),
            "floor_height": float(self.floor_height), "roll_deg": float(self.roll_deg),
            "pitch_deg": float(self.pitch_deg), "fov_deg": float(self.fov_deg), "objects": self.objects,
        }


def _hash01(*ints: np.ndarray) -> np.ndarray:
    """Integer hash of lattice coordinates to [0, 1): exact, so renders are identical everywhere."""
    h = np.zeros(np.shape(ints[0]), dtype=np.uint32)
    for k, a in zip((0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D), ints):
        h ^= np.asarray(a).astype(np.int32).view(np.uint32) * np.uint32(k)
        h *= np.uint32(0x27D4EB2F)
        h ^= h >> np.uint32(15)
    return (h & np.uint32(0xFFFF)).astype(np.float32) / np.float32(65536.0)


def _texture(pattern: str, uv: np.ndarray, base: np.ndarray, params: dict) -> np.ndarray:
    """Albedo of a patterned surface at texture coordinates ``uv`` (N, 2) meters."""
    out = base.copy()
    if pattern == "planks":
        s = params["size"]
        row = np.floor(uv[:, 1] / s)
        along = uv[:, 0] + _hash01(row) * 1.3
        col = np.floor(along / 1.3)
        f = 0.86 + 0.26 * _hash01(row, col)
        seam = ((uv[:, 1] / s) % 1.0 < 0.05) | ((along / 1.3) % 1.0 < 0.012)
        out *= np.where(seam, 0.55, f)[:, None]
    elif pattern == "tiles":
        s = params["size"]
        g = uv / s
        grout = ((g % 1.0) < 0.035).any(axis=1)
        checker = (np.floor(g[:, 0]) + np.floor(g[:, 1])) % 2
        out *= np.where(grout, 0.7, 0.97 + 0.06 * checker)[:, None]
    elif pattern == "carpet":
        cell = np.floor(uv / 0.25)
        out *= (0.94 + 0.08 * _hash01(cell[:, 0], cell[:, 1]))[:, None]
    elif pattern == "wall":
        out[uv[:, 1] < 0.08] = (0.92, 0.92, 0.9)  # skirting board
    elif pattern == "street":
        half = params["half_road"]
        across = np.abs(uv[:, 1])
        road, walk = across < half, (across >= half) & (across < half + 2.5)
        grass = _hash01(np.floor(uv[:, 0] / 0.7), np.floor(uv[:, 1] / 0.7))
        out *= (0.88 + 0.2 * grass)[:, None]
        asphalt = 0.30 + 0.04 * _hash01(np.floor(uv[:, 0] / 0.5), np.floor(uv[:, 1] / 0.5))
        out[road] = asphalt[road, None]
        line = road & (across < 0.07) & ((uv[:, 0] / 6.0) % 1.0 < 0.5)
        out[line] = 0.92
        tiles = ((uv / 0.6) % 1.0 < 0.04).any(axis=1)
        out[walk] = np.where(tiles[walk, None], 0.5, 0.68)
    elif pattern == "facade":
        fx, fz = (uv[:, 0] / params["bay"]) % 1.0, (uv[:, 1] / params["storey"]) % 1.0
        window = (fx > 0.25) & (fx < 0.75) & (fz > 0.3) & (fz < 0.8) & (uv[:, 1] > 1.0)
        out[window] = (0.27, 0.33, 0.41)
    return out


def ray_directions(width: int, height: int, intrinsics: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """(H*W, 3) float32 gravity-frame rays through the pixel centers, scaled to camera z = 1.

    With camera z = 1 the ray parameter of a hit is its z-depth. Same pixel centers (+0.5) as
    `geometry.camera.pixel_rays`.
    """
    K, R = np.asarray(intrinsics, dtype=np.float64), np.asarray(rotation, dtype=np.float64)
    u = ((np.arange(width) + 0.5 - K[0, 2]) / K[0, 0]).astype(np.float32)
    v = ((np.arange(height) + 0.5 - K[1, 2]) / K[1, 1]).astype(np.float32)
    cols = R.T.astype(np.float32)  # camera x, y, z axes in gravity coordinates
    dirs = u[None, :, None] * cols[0] + v[:, None, None] * cols[1] + cols[2]
    return dirs.reshape(-1, 3)


def _cast_surfaces(surfaces, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest background plane per ray: (t, index into surfaces); (inf, -1) where nothing is hit."""
    t_best = np.full(len(dirs), np.inf, dtype=np.float32)
    idx = np.full(len(dirs), -1, dtype=np.int64)
    if not surfaces:
        return t_best, idx
    normals = np.stack([s.normal for s in surfaces]).astype(np.float32)
    offsets = np.array([s.offset for s in surfaces], dtype=np.float32)
    nd = dirs @ normals.T
    with np.errstate(divide="ignore", invalid="ignore"):
        ts = np.where(nd < -1e-9, -offsets / nd, np.inf).astype(np.float32)
    for k, s in enumerate(surfaces):
        if s.extent is not None:
            sel = np.flatnonzero(np.isfinite(ts[:, k]))
            uv = (dirs[sel] * ts[sel, k, None] - s.origin) @ np.asarray(s.axes).T
            u0, u1, v0, v1 = s.extent
            out = (uv[:, 0] < u0) | (uv[:, 0] > u1) | (uv[:, 1] < v0) | (uv[:, 1] > v1)
            ts[sel[out], k] = np.inf
    idx = np.argmin(ts, axis=1)
    t_best = ts[np.arange(len(dirs)), idx]
    idx[~np.isfinite(t_best)] = -1
    return t_best, idx


def _shadow_region(scene: Scene, light: np.ndarray, K, R, width: int, height: int) -> np.ndarray:
    """(H, W) bool: pixels where an object's shadow may fall, so only they get a shadow ray.

    A shadow lies on segments from object points toward -light, down to the floor; their images lie
    in the rectangle around the projected box corners and the corners' shadows on the floor.
    """
    region = np.zeros((height, width), dtype=bool)
    floor = scene.floor_height
    for o in scene.objects:
        corners = _box_corners(o.center, o.extents, o.yaw)
        drop = (corners[:, 2] - floor) / max(float(light[2]), 1e-3)
        cam = np.concatenate([corners, corners - drop[:, None] * light]) @ R
        if np.any(cam[:, 2] <= 1e-3):
            return np.ones((height, width), dtype=bool)
        u = K[0, 0] * cam[:, 0] / cam[:, 2] + K[0, 2]
        v = K[1, 1] * cam[:, 1] / cam[:, 2] + K[1, 2]
        x0, x1 = (int(np.clip(np.floor(u.min()) - 1, 0, width)), int(np.clip(np.ceil(u.max()) + 2, 0, width)))
        y0, y1 = (int(np.clip(np.floor(v.min()) - 1, 0, height)), int(np.clip(np.ceil(v.max()) + 2, 0, height)))
        region[y0:y1, x0:x1] = True
    return region


def _box_corners(center, extents, yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64)
    local = signs * np.asarray(extents) / 2
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return local @ rot.T + np.asarray(center)


def _object_scene(meshes):
    import open3d as o3d

    scene = o3d.t.geometry.RaycastingScene()
    for m in meshes:
        scene.add_triangles(o3d.core.Tensor.from_numpy(np.ascontiguousarray(m.vertices, dtype=np.float32)),
                            o3d.core.Tensor.from_numpy(np.ascontiguousarray(m.triangles, dtype=np.uint32)))
    return scene


def _rays(origins: np.ndarray | None, dirs: np.ndarray):
    import open3d as o3d

    rays = np.zeros((len(dirs), 6), dtype=np.float32)
    if origins is not None:
        rays[:, :3] = origins
    rays[:, 3:] = dirs
    return o3d.core.Tensor.from_numpy(rays)


def render(scene: Scene, width: int = 512, height: int = 384, *, nthreads: int = 1) -> RenderedImage:
    """Render ``scene`` and compute the ground truth of every object that shows in the image.

    ``nthreads`` is open3d's ray-casting threads (0 = all cores). One is the default: an image is
    too few rays to pay for threads, and drops are rendered in parallel processes anyway.
    """
    K = scene.camera.intrinsics(width, height)
    R = scene.camera.rotation
    n_pix = width * height
    dirs = ray_directions(width, height, K, R)
    objects, surfaces = scene.objects, scene.surfaces
    n_obj = len(objects)

    # nearest hit: background planes analytically, objects by open3d ray casting
    t_bg, surf = _cast_surfaces(surfaces, dirs)
    obj_scene = _object_scene([o.mesh for o in objects])
    hit = obj_scene.cast_rays(_rays(None, dirs), nthreads=nthreads)
    t_obj = hit["t_hit"].numpy()
    on_obj = t_obj < t_bg
    t_hit = np.where(on_obj, t_obj, t_bg)
    valid = np.isfinite(t_hit)
    depth = np.where(valid, t_hit, 0.0).astype(np.float32)  # camera z = 1 rays: t is z-depth
    scene_ids = np.where(on_obj, hit["geometry_ids"].numpy().astype(np.int64) + 1, 0)  # 1-based scene ids

    # albedo and normals: per hit triangle on objects, per plane (with its pattern) on the background
    vi = np.flatnonzero(valid)
    points = dirs[vi] * t_hit[vi, None]
    albedo = np.empty((len(vi), 3), dtype=np.float32)
    normals = np.empty((len(vi), 3), dtype=np.float32)
    oi = np.flatnonzero(on_obj[vi])
    if len(oi):
        tri_counts = np.array([len(o.mesh.triangles) for o in objects], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(tri_counts)])
        table = np.concatenate([o.mesh.albedo for o in objects]).astype(np.float32)
        pix = vi[oi]
        albedo[oi] = table[offsets[scene_ids[pix] - 1] + hit["primitive_ids"].numpy()[pix].astype(np.int64)]
        n = hit["primitive_normals"].numpy()[pix]
        n *= np.where(np.einsum("ij,ij->i", n, dirs[pix]) > 0, -1.0, 1.0).astype(np.float32)[:, None]
        normals[oi] = n
    surface_code = np.full(n_pix, SURFACE_CODES["sky"], dtype=np.uint8)
    surface_code[on_obj] = SURFACE_CODES["object"]
    bg = ~on_obj[vi]
    for k, s in enumerate(surfaces):
        sel = np.flatnonzero(bg & (surf[vi] == k))
        if not len(sel):
            continue
        surface_code[vi[sel]] = SURFACE_CODES[s.kind]
        normals[sel] = s.normal
        base = np.broadcast_to(np.asarray(s.rgb, dtype=np.float32) / 255.0, (len(sel), 3))
        if s.pattern == "plain":
            albedo[sel] = base
        else:
            uv = (points[sel] - s.origin.astype(np.float32)) @ np.asarray(s.axes, dtype=np.float32).T
            albedo[sel] = _texture(s.pattern, uv, base.copy(), s.params)

    # sun (Lambert, with the objects' shadows) + a weak headlight + ambient
    light = np.asarray(scene.light_dir, dtype=np.float32)
    lam = np.clip(normals @ light, 0.0, 1.0)
    if n_obj:
        shadowed = _shadow_region(scene, light, K, R, width, height).reshape(-1)[vi]
        lit = np.flatnonzero((lam > 0) & shadowed)
        if len(lit):
            rays = _rays(points[lit] + 2e-3 * normals[lit], np.broadcast_to(light, (len(lit), 3)))
            lam[lit[obj_scene.test_occlusions(rays, nthreads=nthreads).numpy()]] *= 0.2
    dv = dirs[vi]
    head = np.abs(np.einsum("ij,ij->i", normals, dv)) / np.sqrt(np.einsum("ij,ij->i", dv, dv))
    sun = 0.75 if scene.kind == "indoor" else 0.9
    shade = scene.ambient + (1.0 - scene.ambient) * (sun * lam + (1.0 - sun) * head)
    color = np.empty((n_pix, 3), dtype=np.float32)
    color[vi] = albedo * shade[:, None]
    sky = np.flatnonzero(~valid)
    if len(sky):
        elev = np.clip(dirs[sky, 2] / np.linalg.norm(dirs[sky], axis=1), 0.0, 1.0) ** 0.6
        color[sky] = _SKY_HORIZON + (_SKY_ZENITH - _SKY_HORIZON) * elev[:, None]
    rgb = np.clip(np.round(color * 255.0), 0, 255).astype(np.uint8).reshape(height, width, 3)

    # visible objects, renumbered 1..K in scene order
    visible = np.bincount(scene_ids, minlength=n_obj + 1)[1:]
    kept = np.flatnonzero(visible > 0)
    lut = np.zeros(n_obj + 1, dtype=np.uint16)
    lut[kept + 1] = np.arange(1, len(kept) + 1, dtype=np.uint16)
    instances = lut[scene_ids].reshape(height, width)
    truth = []
    if len(kept):
        alone = _alone_coverage(scene, obj_scene, dirs, scene_ids, visible, K, R, width, height, nthreads)
        truth = _object_truth(scene, kept, lut, visible, instances, alone, K, R)

    return RenderedImage(
        seed=scene.seed, kind=scene.kind, rgb=rgb, depth=depth.reshape(height, width), instances=instances,
        surfaces=surface_code.reshape(height, width), intrinsics=K, rotation=R, floor_height=scene.floor_height,
        roll_deg=scene.camera.roll_deg, pitch_deg=scene.camera.pitch_deg, fov_deg=scene.camera.fov_deg,
        objects=truth,
    )


def _image_rects(scene: Scene, K: np.ndarray, R: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N, 4) pixel rectangles x0, y0, x1, y1 that contain each object's projection (clipped)."""
    rects = np.zeros((len(scene.objects), 4), dtype=np.int64)
    for i, o in enumerate(scene.objects):
        cam = o.mesh.vertices @ R
        if np.any(cam[:, 2] <= 1e-6):  # reaches behind the camera: could be anywhere
            rects[i] = (0, 0, width, height)
            continue
        u = K[0, 0] * cam[:, 0] / cam[:, 2] + K[0, 2]
        v = K[1, 1] * cam[:, 1] / cam[:, 2] + K[1, 2]
        rects[i] = (np.floor(u.min()), np.floor(v.min()), np.ceil(u.max()) + 1, np.ceil(v.max()) + 1)
    rects[:, [0, 2]] = np.clip(rects[:, [0, 2]], 0, width)
    rects[:, [1, 3]] = np.clip(rects[:, [1, 3]], 0, height)
    return rects


def _alone_coverage(scene, obj_scene, dirs, scene_ids, visible, K, R, width, height, nthreads) -> np.ndarray:
    """Pixels each object would cover if it were alone in the image.

    Only a pixel showing one object inside another's projected rectangle can hide the other, so only
    those rays are listed through all their intersections.
    """
    n_obj = len(scene.objects)
    rects = _image_rects(scene, K, R, width, height)
    depth_count = np.zeros((height, width), dtype=np.int16)
    for x0, y0, x1, y1 in rects:
        depth_count[y0:y1, x0:x1] += 1
    candidates = np.flatnonzero((depth_count.reshape(-1) >= 2) & (scene_ids > 0))
    coverage = visible.astype(np.int64).copy()
    if not len(candidates):
        return coverage
    hits = obj_scene.list_intersections(_rays(None, dirs[candidates]), nthreads=nthreads)
    covered = np.zeros((n_obj, len(candidates)), dtype=bool)
    covered[hits["geometry_ids"].numpy().astype(np.int64), hits["ray_ids"].numpy().astype(np.int64)] = True
    covered[scene_ids[candidates] - 1, np.arange(len(candidates))] = False  # already counted as visible
    return coverage + covered.sum(axis=1)


def _object_truth(scene: Scene, kept: np.ndarray, lut: np.ndarray, visible: np.ndarray, instances: np.ndarray,
                  alone: np.ndarray, K: np.ndarray, R: np.ndarray) -> list[dict]:
    from pycocotools import mask as mask_utils

    h, w = instances.shape
    n = len(kept)
    masks = np.empty((h, w, n), dtype=np.uint8, order="F")  # Fortran order, as pycocotools wants
    for j in range(n):
        masks[:, :, j] = instances == j + 1
    rles = mask_utils.encode(masks)  # one call for all masks
    rows, cols = masks.any(axis=1), masks.any(axis=0)  # (H, n), (W, n)
    position = {o.object_id: i for i, o in enumerate(scene.objects)}
    out = []
    for j, i in enumerate(kept):
        obj = scene.objects[i]
        ys, xs = np.flatnonzero(rows[:, j]), np.flatnonzero(cols[:, j])
        box = [int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1]  # x1, y1 exclusive
        cam = obj.mesh.vertices @ R  # gravity -> camera: R^T p
        if np.any(cam[:, 2] <= 1e-6):
            leaves = True
        else:
            u = K[0, 0] * cam[:, 0] / cam[:, 2] + K[0, 2]
            v = K[1, 1] * cam[:, 1] / cam[:, 2] + K[1, 2]
            leaves = bool(u.min() < 0 or v.min() < 0 or u.max() > w or v.max() > h)
        touches = box[0] == 0 or box[1] == 0 or box[2] == w or box[3] == h
        n_vis = int(visible[i])
        fraction = n_vis / int(alone[i])
        support = position.get(obj.supported_by)  # scene object ids need not be positions
        support = int(lut[support + 1]) if support is not None and lut[support + 1] > 0 else None
        out.append({
            "object_id": j + 1,
            "label": obj.label,
            "center": [round(float(c), 6) for c in obj.center],
            "extents": [round(float(c), 6) for c in obj.extents],
            "yaw": round(float(obj.yaw), 6),
            "front_yaw": None if obj.front_yaw is None else round(float(obj.front_yaw), 6),
            "color": obj.color,
            "color_rgb": list(obj.color_rgb),
            "n_points": n_vis,
            "box_2d": box,
            "mask_rle": rles[j]["counts"].decode("utf-8"),
            "truncated": bool(touches and leaves),
            "occluded": bool(fraction < OCCLUDED_BELOW),
            "visible_fraction": round(float(fraction), 4),
            "supported_by": support,
        })
    return out
