"""Preview images for the UI's asset pages: point-map depth colormaps and RGB with projected 3D boxes.

Pure numpy + PIL (no dagster, no matplotlib): the defs wrap ``preview_markdown`` in
``MetadataValue.md``, which the UI renders with inline ``data:`` PNG images.
"""

from __future__ import annotations

import base64
import functools
import io as _io
import re
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl
from PIL import Image, ImageDraw, ImageFont

from hispatial_assets.geometry.boxes import box_corners
from hispatial_assets.geometry.camera import PointMap, nearest_indices, project
from hispatial_assets.geometry.frames import Gravity

MAX_MARKDOWN_BYTES = 300_000  # the whole preview; the UI stores metadata per materialization
NEAR = 0.05  # meters: edges are clipped to z >= NEAR in the camera frame before projecting
PREVIEW_IMAGES = 4  # images per preview, two side by side
LABEL_SIZE_PX = 12  # object labels and legend text: readable at the preview's own size

# The 12 box edges: corner index = 4*i + 2*j + k over signs (i, j, k) of (u, v, z) in `box_corners`,
# so the two ends of an edge differ in exactly one bit.
BOX_EDGES = np.array([(a, a | bit) for bit in (1, 2, 4) for a in range(8) if not a & bit], dtype=np.int64)


def _turbo_lut() -> np.ndarray:
    """(256, 3) uint8 Turbo colormap from its published polynomial fit.

    Starts at 0.03: the fit's very first entries are near-black and brownish, and black means invalid.
    """
    x = np.linspace(0.03, 1.0, 256)[:, None]
    coeffs = np.array([
        [0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943],
        [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604],
        [0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973],
    ])
    rgb = (x ** np.arange(6)) @ coeffs.T
    return np.round(255 * np.clip(rgb, 0.0, 1.0)).astype(np.uint8)


TURBO = _turbo_lut()
PALETTE = TURBO[(np.arange(16) * 0.618034 % 1.0 * 200 + 40).astype(int)]  # distinct box colors, golden-ratio steps


@functools.lru_cache(maxsize=4)
def font(size_px: int = LABEL_SIZE_PX) -> ImageFont.ImageFont:
    """Pillow's built-in scalable font (FreeType) at ``size_px``; its small bitmap font without FreeType."""
    try:
        return ImageFont.load_default(size=size_px)
    except (ImportError, OSError, TypeError):
        return ImageFont.load_default()


def _out_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    w = max(1, min(int(width), int(max_width)))
    return w, max(1, int(round(height * w / width)))


def inverse_depth_range(point_maps: Sequence[PointMap]) -> tuple[float, float]:
    """(low, high) inverse depth (1/m) over the valid pixels of all ``point_maps``: the 2-98% range, so one
    far outlier does not flatten the rest, and one color scale (and legend) fits every image shown."""
    inv = [1.0 / z[(m & np.isfinite(z) & (z > 0))] for z, m in
           ((np.asarray(pm.xyz[..., 2], np.float32), np.asarray(pm.mask, bool)) for pm in point_maps)]
    inv = np.concatenate(inv) if inv else np.zeros(0, np.float32)
    if not len(inv):
        return 0.1, 1.0
    lo, hi = np.percentile(inv, [2.0, 98.0])
    return float(lo), float(max(hi, lo * 1.001, lo + 1e-6))


def point_map_preview(pm: PointMap, max_width: int = 256, inverse_range: tuple[float, float] | None = None) -> np.ndarray:
    """(h, w, 3) uint8 Turbo colormap of inverse depth (near = red, far = blue), invalid pixels black.

    Inverse depth spreads the colors over near objects, where the detail is. ``inverse_range`` (1/m, see
    `inverse_depth_range`) fixes the scale, e.g. to share one legend; default: this map's own 2-98% range.
    Nearest-neighbour downscaling keeps the validity mask exact.
    """
    h, w = pm.shape
    ow, oh = _out_size(w, h, max_width)
    rows, cols = nearest_indices(oh, h), nearest_indices(ow, w)
    z = np.asarray(pm.xyz[..., 2], dtype=np.float32)[np.ix_(rows, cols)]
    valid = np.asarray(pm.mask, dtype=bool)[np.ix_(rows, cols)] & np.isfinite(z) & (z > 0)
    out = np.zeros((oh, ow, 3), dtype=np.uint8)
    if not valid.any():
        return out
    lo, hi = inverse_range or inverse_depth_range([pm])
    t = np.clip((1.0 / z[valid] - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    out[valid] = TURBO[np.round(t * 255).astype(np.int64)]
    return out


def depth_ticks_m(near_m: float, far_m: float) -> list[float]:
    """Round depths (1, 2, 5 × 10^k m) between ``near_m`` and ``far_m``, with both ends."""
    lo, hi = np.floor(np.log10(near_m)), np.ceil(np.log10(far_m))
    nice = (np.array([1.0, 2.0, 5.0])[None, :] * 10.0 ** np.arange(lo, hi + 1)[:, None]).ravel()
    inside = nice[(nice > near_m * 1.05) & (nice < far_m / 1.05)]
    return [near_m, *inside.tolist(), far_m]


def _meters(d: float) -> str:
    return f"{d:.2g} m" if d < 10 else f"{d:.0f} m"


def depth_legend(inverse_range: tuple[float, float], width: int = 320) -> np.ndarray:
    """(h, w, 3) uint8 colorbar of `point_map_preview`'s colors for ``inverse_range``: near (red, left) to far
    (blue, right) with depths in meters under it, and the black of pixels without a valid depth."""
    f = font()
    text_h = f.getbbox("0.9 m")[3]
    swatch_w = 14 + 6 + int(f.getlength("no depth"))
    x0, x1, bar_y0, bar_y1 = 4, width - swatch_w - 16, 4, 18
    height = bar_y1 + 6 + text_h + 4
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    lo, hi = inverse_range
    t = 1.0 - np.linspace(0.0, 1.0, x1 - x0)  # left = near = high inverse depth
    bar = np.repeat(TURBO[np.round(t * 255).astype(np.int64)][None], bar_y1 - bar_y0, axis=0)
    image.paste(Image.fromarray(bar), (x0, bar_y0))
    ticks = depth_ticks_m(1.0 / hi, 1.0 / lo)
    placed: list[tuple[float, float]] = []
    for depth in [ticks[0], ticks[-1], *ticks[1:-1]]:  # the two ends first: they always show
        x = x0 + (1.0 - (1.0 / depth - lo) / (hi - lo)) * (x1 - x0 - 1)
        text = _meters(depth)
        w = f.getlength(text)
        left = min(max(x - w / 2, 0), x1 - w)
        if any(left < right + 6 and left + w > start - 6 for start, right in placed):
            continue  # would touch a label already there
        placed.append((left, left + w))
        draw.line([(x, bar_y1), (x, bar_y1 + 3)], fill=(0, 0, 0))
        draw.text((left, bar_y1 + 5), text, fill=(0, 0, 0), font=f)
    sx = x1 + 16
    draw.rectangle((sx, bar_y0, sx + 14, bar_y1 - 1), fill=(0, 0, 0))
    draw.text((sx + 20, bar_y0), "no depth", fill=(0, 0, 0), font=f)
    return np.asarray(image)


def _box_params(objects: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    cols = ["center_x", "center_y", "center_z", "width", "depth", "height", "yaw"]
    b = objects.select(cols).to_numpy().astype(np.float64).reshape(-1, 7)
    front = (objects["front_yaw"].cast(pl.Float64).fill_null(np.nan).to_numpy() if "front_yaw" in objects.columns
             else np.full(len(objects), np.nan))
    return b[:, :3], b[:, 3:6], b[:, 6], np.asarray(front, dtype=np.float64)


def gravity_box_corners(objects: pl.DataFrame) -> np.ndarray:
    """(N, 8, 3) gravity-frame corners of each object's box (corner order of `box_corners`)."""
    centers, extents, yaws, _ = _box_params(objects)
    if len(centers) == 0:
        return np.zeros((0, 8, 3))
    return np.stack([box_corners(c, e, y) for c, e, y in zip(centers, extents, yaws)])


def projected_corners(objects: pl.DataFrame, rotation: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """(N, 8, 2) pixel coordinates of each box's corners; NaN for corners behind ``NEAR``."""
    cam = gravity_box_corners(objects) @ np.asarray(rotation, dtype=np.float64)  # p_cam = R.T @ p_grav
    px = project(cam.reshape(-1, 3), intrinsics).reshape(-1, 8, 2)
    return np.where((cam[..., 2:3] >= NEAR), px, np.nan)


def _clip_project(segments: np.ndarray, intrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame segments (M, 2, 3) -> pixel segments (M, 2, 2) clipped to z >= NEAR, and which survive."""
    a, b = segments[:, 0], segments[:, 1]
    za, zb = a[:, 2], b[:, 2]
    keep = (za >= NEAR) | (zb >= NEAR)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.clip((NEAR - za) / (zb - za), 0.0, 1.0)[:, None]
    cut = a + t * (b - a)  # the point on the segment at z = NEAR
    a = np.where((za < NEAR)[:, None], cut, a)
    b = np.where((zb < NEAR)[:, None], cut, b)
    px = project(np.concatenate([a, b]), intrinsics)
    return np.stack([px[: len(a)], px[len(a):]], axis=1), keep


def box_segments(objects: pl.DataFrame, rotation: np.ndarray, intrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel line segments (M, 2, 2) of every box's 12 edges and front arrow, and the object row of each.

    Edges are clipped to the part in front of the camera; the front arrow (objects with a finite
    ``front_yaw``) runs from the box center horizontally out past the box, with a two-stroke head.
    """
    centers, extents, _, front = _box_params(objects)
    n = len(centers)
    if n == 0:
        return np.zeros((0, 2, 2)), np.zeros(0, np.int64)
    corners = gravity_box_corners(objects)
    segs = [corners[:, BOX_EDGES]]  # (N, 12, 2, 3)
    owner = [np.repeat(np.arange(n), len(BOX_EDGES))]
    has = np.flatnonzero(np.isfinite(front))
    if len(has):
        d = np.stack([np.cos(front[has]), np.sin(front[has]), np.zeros(len(has))], axis=1)
        perp = np.stack([-d[:, 1], d[:, 0], d[:, 2]], axis=1)
        length = (0.5 * extents[has, :2].max(axis=1) + 0.3)[:, None]
        start, tip = centers[has], centers[has] + length * d
        back = tip - 0.3 * length * d
        head = np.stack([np.stack([start, tip], 1), np.stack([tip, back + 0.15 * length * perp], 1),
                         np.stack([tip, back - 0.15 * length * perp], 1)], axis=1)  # (K, 3, 2, 3)
        segs.append(head)
        owner.append(np.repeat(has, 3))
    grav = np.concatenate([s.reshape(-1, 2, 3) for s in segs])
    cam = grav @ np.asarray(rotation, dtype=np.float64)
    px, keep = _clip_project(cam, intrinsics)
    ok = keep & np.isfinite(px).all(axis=(1, 2))
    return px[ok], np.concatenate(owner)[ok]


def boxes_overlay(rgb: np.ndarray, objects: pl.DataFrame, rotation: np.ndarray, intrinsics: np.ndarray,
                  max_width: int = 384) -> np.ndarray:
    """(h, w, 3) uint8: the image (downscaled to ``max_width``) with each object's 3D box, label and front arrow.

    ``objects`` holds gravity-frame boxes (`schema.OBJECTS` columns), ``rotation`` is camera-to-gravity.
    Drawing happens on the downscaled image with the intrinsics scaled to it, so lines stay 1-2 px wide.
    """
    h, w = rgb.shape[:2]
    ow, oh = _out_size(w, h, max_width)
    image = Image.fromarray(np.asarray(rgb, dtype=np.uint8))
    if (ow, oh) != (w, h):
        image = image.resize((ow, oh), Image.BILINEAR)
    K = np.diag([ow / w, oh / h, 1.0]) @ np.asarray(intrinsics, dtype=np.float64)
    segs, owner = box_segments(objects, rotation, K)
    draw = ImageDraw.Draw(image)
    colors = [tuple(int(c) for c in PALETTE[i % len(PALETTE)]) for i in range(len(objects))]
    width_px = 2 if ow >= 256 else 1
    for (p, q), i in zip(segs, owner):
        draw.line([tuple(p), tuple(q)], fill=colors[i], width=width_px)
    corners = projected_corners(objects, rotation, K)
    labels = objects["label"].to_list() if "label" in objects.columns else [""] * len(objects)
    ids = objects["object_id"].to_list() if "object_id" in objects.columns else list(range(1, len(objects) + 1))
    finite = np.isfinite(corners).all(axis=2)[..., None]  # corners in front of the camera
    lo = np.where(finite, corners, np.inf).min(axis=1)
    hi = np.where(finite, corners, -np.inf).max(axis=1)
    on_image = (hi[:, 0] >= 0) & (lo[:, 0] <= ow - 1) & (hi[:, 1] >= 0) & (lo[:, 1] <= oh - 1)
    extents = np.where(on_image[:, None], np.clip(np.concatenate([lo, hi], axis=1), 0, [ow - 1, oh - 1] * 2), np.nan)
    _draw_labels(draw, extents, [f"{oid} {label}" for oid, label in zip(ids, labels)],
                 [str(oid) for oid in ids], colors, (ow, oh))
    return np.asarray(image)


def label_candidates(extent: np.ndarray, size: tuple[float, float]) -> np.ndarray:
    """(K, 2) top-left corners to try for a ``size`` (w, h) label of a box with 2D ``extent`` (x0, y0, x1, y1):
    above it at the left, below it, above at the right, inside at the top, at its center, beside it."""
    x0, y0, x1, y1 = extent
    w, h = size
    return np.array([(x0, y0 - h - 1), (x0, y1 + 1), (x1 - w, y0 - h - 1), (x0 + 1, y0 + 1),
                     ((x0 + x1 - w) / 2, (y0 + y1 - h) / 2), (x1 - w, y1 + 1), (x1 + 1, y0), (x0 - w - 1, y0),
                     (x1 + 1, y1 - h), (x0 - w - 1, y1 - h)])


def _free_spot(extent: np.ndarray, size: tuple[float, float], taken: np.ndarray,
               image_size: tuple[int, int]) -> np.ndarray | None:
    """The first `label_candidates` spot (moved inside the image) whose rectangle overlaps none of ``taken``."""
    (w, h), (width, height) = size, image_size
    tl = label_candidates(extent, size)
    tl = np.stack([np.clip(tl[:, 0], 0, max(width - w, 0)), np.clip(tl[:, 1], 0, max(height - h, 0))], axis=1)
    rects = np.concatenate([tl, tl + [w, h]], axis=1)  # (K, 4): x0, y0, x1, y1
    clash = ((rects[:, None, 0] < taken[None, :, 2]) & (rects[:, None, 2] > taken[None, :, 0])
             & (rects[:, None, 1] < taken[None, :, 3]) & (rects[:, None, 3] > taken[None, :, 1])).any(axis=1)
    free = np.flatnonzero(~clash)
    return rects[free[0]] if len(free) else None


def place_labels(extents: np.ndarray, sizes: Sequence[Sequence[tuple[float, float]]],
                 image_size: tuple[int, int]) -> list[tuple[int, np.ndarray] | None]:
    """Where each box's label goes, none overlapping another or leaving the image: ``(which, (x0, y0, x1, y1))``
    with ``which`` the index into that box's label ``sizes`` (longest first, e.g. "3 chair" then "3"), or None.

    First every box gets its shortest label (its number), then each takes a longer one where one fits;
    both passes serve the largest boxes first. ``extents``: (N, 4) 2D box extents in pixels, NaN = off the image.
    """
    area = np.nan_to_num((extents[:, 2] - extents[:, 0]) * (extents[:, 3] - extents[:, 1]), nan=-1.0)
    order = [i for i in np.argsort(-area, kind="stable") if np.isfinite(extents[i]).all()]
    spots: dict[int, tuple[int, np.ndarray]] = {}

    def taken(but: int) -> np.ndarray:
        return np.array([rect for j, (_, rect) in spots.items() if j != but]).reshape(-1, 4)

    for i in order:
        rect = _free_spot(extents[i], sizes[i][-1], taken(i), image_size)
        if rect is not None:
            spots[i] = (len(sizes[i]) - 1, rect)
    for i in order:
        for which, size in enumerate(sizes[i][:-1]):
            rect = _free_spot(extents[i], size, taken(i), image_size)
            if rect is not None:
                spots[i] = (which, rect)
                break
    return [spots.get(i) for i in range(len(extents))]


def _draw_labels(draw: ImageDraw.ImageDraw, extents: np.ndarray, texts: list[str], short: list[str],
                 colors: list[tuple[int, int, int]], image_size: tuple[int, int]) -> None:
    """Each box's label on a dark plate, where `place_labels` puts it; a box with no free spot keeps its lines
    only (the preview's legend names every object)."""
    f = font()
    pad = 2

    def size(text: str) -> tuple[float, float]:
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=f)
        return x1 + 2 * pad, y1 + pad

    spots = place_labels(extents, [[size(t), size(s)] for t, s in zip(texts, short)], image_size)
    for i, spot in enumerate(spots):
        if spot is None:
            continue
        which, (x0, y0, x1, y1) = spot
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=(0, 0, 0))
        draw.text((x0 + pad, y0), (texts, short)[which][i], fill=colors[i], font=f)


def png_data_uri(rgb: np.ndarray) -> str:
    """``data:image/png;base64,...`` of an (H, W, 3) uint8 image, for markdown ``![...](...)``."""
    buf = _io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _caption(text: str) -> str:
    return re.sub(r"[\[\]()|\n]", " ", str(text)).strip()


def _scaled(rgb: np.ndarray, scale: float) -> np.ndarray:
    img = np.asarray(rgb, dtype=np.uint8)
    if scale >= 1.0:
        return img
    h, w = img.shape[:2]
    return np.asarray(Image.fromarray(img).resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.BILINEAR))


def _layout(captions: list[str], uris: list[str], notes: Sequence[str] | None, columns: int) -> str:
    """One image per paragraph (caption as alt text), or tables of ``columns`` images: captions as the header,
    ``notes`` (e.g. what the numbers on an image stand for) in the row under the images."""
    images = [f"![{c}]({u})" for c, u in zip(captions, uris)]
    if columns <= 1:
        return "\n\n".join(f"{img}\n\n{_caption(n)}" if n else img for img, n in zip(images, notes or [""] * len(images)))
    tables = []
    for start in range(0, len(images), columns):
        block = slice(start, start + columns)
        rows = [captions[block], ["---"] * len(captions[block]), images[block]]
        if notes:
            rows.append([_caption(n) for n in notes[block]])
        tables.append("\n".join("| " + " | ".join(row) + " |" for row in rows))
    return "\n\n".join(tables)


def preview_markdown(images: Sequence[tuple[str, np.ndarray]], *, max_bytes: int = MAX_MARKDOWN_BYTES,
                     columns: int = 1, notes: Sequence[str] | None = None, legend: str = "") -> str:
    """Markdown with every image as a ``![caption](data-uri)`` (see `_layout`), after ``legend``; the images are
    downscaled together until the whole fits ``max_bytes``."""
    if not images:
        return "_no images to preview_"
    captions = [_caption(c) for c, _ in images]
    scale = 1.0
    while True:
        md = _layout(captions, [png_data_uri(_scaled(rgb, scale)) for _, rgb in images], notes, columns)
        md = f"{legend}\n\n{md}" if legend else md
        if len(md.encode()) <= max_bytes or scale < 0.05:
            return md
        scale *= 0.7


def point_maps_preview(point_maps: Sequence[tuple[str, PointMap]], max_width: int = 256) -> str:
    """Markdown previews of a few point maps on one color scale, captioned with their image ids, under a
    colorbar legend in meters."""
    if not point_maps:
        return "_no point maps to preview_"
    scale = inverse_depth_range([pm for _, pm in point_maps])
    legend = (f"**Depth** (camera z), one scale for all images: ![depth legend: near red, far blue, black no depth]"
              f"({png_data_uri(depth_legend(scale))})")
    return preview_markdown([(image_id, point_map_preview(pm, max_width, scale)) for image_id, pm in point_maps],
                            columns=2, legend=legend)


def objects_preview(refs: Sequence, objects: pl.DataFrame, gravity: dict[str, Gravity],
                    point_maps: Callable[[str], PointMap | None], *, n_images: int = PREVIEW_IMAGES,
                    max_width: int = 384) -> str:
    """Markdown previews of the first ``n_images`` images (that have a point map and gravity) with their boxes,
    two side by side; under each, every object's number and label."""
    images, notes = [], []
    for ref in refs:
        if len(images) >= n_images:
            break
        pm, g = point_maps(ref.image_id), gravity.get(ref.image_id)
        if pm is None or g is None:
            continue
        objs = objects.filter(pl.col("image_id") == ref.image_id) if len(objects) else objects
        try:
            rgb = ref.rgb()
        except (FileNotFoundError, ValueError):  # a preview never fails the stage
            continue
        ph, pw = pm.shape  # the point map may be estimated at another resolution than the image
        K = np.diag([rgb.shape[1] / pw, rgb.shape[0] / ph, 1.0]) @ np.asarray(pm.intrinsics, dtype=np.float64)
        images.append((f"{ref.image_id}: {len(objs)} objects", boxes_overlay(rgb, objs, g.rotation, K, max_width)))
        notes.append(" · ".join(f"{r['object_id']} {r['label']}" for r in objs.sort("object_id").iter_rows(named=True))
                     if len(objs) else "no objects")
    return preview_markdown(images, columns=2, notes=notes)
