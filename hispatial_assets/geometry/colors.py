"""Dominant color names of masked objects, robust to Lambertian shading.

Shading multiplies a pixel's albedo by one factor per pixel (``rgb = albedo * shade``), which leaves
chromaticity ``rgb / sum(rgb)`` and saturation ``(max - min) / max`` unchanged. So each pixel votes:

- chromatic pixels (saturation >= ``min_saturation``) for the palette color with the nearest
  chromaticity among the chromatic names (red, green, blue, yellow, brown, orange, purple, pink);
- achromatic pixels for "achromatic".

The most voted name wins. For an achromatic object, white / gray / black is read from a high
percentile of its brightness — the best-lit pixels approximate the albedo, since shading only darkens.
Vectorized over pixels; a stack of masks is handled with one pass over each mask's pixels.
"""

from __future__ import annotations

import numpy as np

# Reference albedos (sRGB 0-255) of the color names: the scene engine paints with these, and
# referrals and QA say these names.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 40),
    "green": (50, 150, 60),
    "blue": (40, 80, 190),
    "yellow": (230, 200, 40),
    "white": (235, 235, 230),
    "black": (35, 35, 35),
    "gray": (128, 128, 128),
    "brown": (125, 80, 45),
    "orange": (235, 130, 30),
    "purple": (125, 60, 165),
    "pink": (235, 135, 175),
}
ACHROMATIC = ("white", "gray", "black")


def _chromatic_table(palette: dict[str, tuple[int, int, int]]) -> tuple[list[str], np.ndarray]:
    names = [n for n in palette if n not in ACHROMATIC]
    rgb = np.array([palette[n] for n in names], dtype=np.float64)
    return names, rgb / rgb.sum(axis=1, keepdims=True)


def dominant_color(
    pixels: np.ndarray,
    *,
    palette: dict[str, tuple[int, int, int]] | None = None,
    min_saturation: float = 0.22,
    white_above: float = 0.62,
    black_below: float = 0.22,
    bright_percentile: float = 90.0,
) -> tuple[str | None, tuple[int, int, int]]:
    """Color name and a representative RGB (median of the winning pixels) of (P, 3) uint8 pixels.

    Returns (None, (0, 0, 0)) for no pixels. ``white_above`` / ``black_below`` apply to the
    ``bright_percentile`` brightness (max channel, 0-1) of the achromatic pixels.
    """
    px = np.asarray(pixels, dtype=np.float64).reshape(-1, 3)
    if len(px) == 0:
        return None, (0, 0, 0)
    names, chroma = _chromatic_table(PALETTE if palette is None else palette)
    v = px.max(axis=1)
    s = np.where(v > 0, (v - px.min(axis=1)) / np.maximum(v, 1e-9), 0.0)
    usable = v >= 40.0  # too dark to tell chromaticity (quantization noise, screens, deep shadow)
    chromatic = usable & (s >= min_saturation)
    votes = np.zeros(len(names) + 1, dtype=np.int64)  # last slot: achromatic
    label = np.full(len(px), len(names), dtype=np.int64)
    if chromatic.any():
        c = px[chromatic] / px[chromatic].sum(axis=1, keepdims=True)
        d = ((c[:, None, :] - chroma[None, :, :]) ** 2).sum(axis=2)
        label[chromatic] = np.argmin(d, axis=1)
    votes += np.bincount(label, minlength=len(names) + 1)
    win = int(np.argmax(votes))
    chosen = label == win
    rep = tuple(int(x) for x in np.median(px[chosen], axis=0).round())
    if win < len(names):
        return names[win], rep
    bright = np.percentile(v[chosen], bright_percentile) / 255.0
    name = "white" if bright >= white_above else "black" if bright < black_below else "gray"
    return name, rep


def dominant_colors(rgb: np.ndarray, masks: np.ndarray, **kwargs) -> tuple[list[str | None], np.ndarray]:
    """Per mask of one image: color names and (N, 3) uint8 representative RGBs (``dominant_color``)."""
    image = np.asarray(rgb)
    names, reps = [], []
    for m in np.asarray(masks, dtype=bool):
        name, rep = dominant_color(image[m], **kwargs)
        names.append(name)
        reps.append(rep)
    return names, np.array(reps, dtype=np.uint8).reshape(-1, 3)
