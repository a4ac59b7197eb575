"""Line and bar charts as PNG data URIs in Markdown: training loss curves and evaluation tables, in the
previews' palette."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from hispatial_assets.drawing.previews import PALETTE, preview_markdown


def line_chart(series: dict[str, tuple[Sequence[float], Sequence[float]]], *, title: str = "", width: int = 480,
               height: int = 260, log_y: bool = False) -> np.ndarray:
    """(height, width, 3) uint8 plot of named (x, y) series on shared axes, min/max labelled, legend at the
    top right. Non-finite points are skipped; ``log_y`` plots log10(y) (for losses)."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    left, right, top, bottom = 56, width - 12, 24, height - 28
    pts = {}
    for name, (x, y) in series.items():
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        ok = np.isfinite(x) & np.isfinite(y) & ((y > 0) if log_y else True)
        pts[name] = (x[ok], np.log10(y[ok]) if log_y else y[ok])
    xs = np.concatenate([p[0] for p in pts.values()] + [np.zeros(0)])
    ys = np.concatenate([p[1] for p in pts.values()] + [np.zeros(0)])
    draw.text((left, 6), title, fill=(0, 0, 0))
    draw.rectangle((left, top, right, bottom), outline=(160, 160, 160))
    if not len(xs):
        draw.text((left + 8, top + 8), "no data", fill=(0, 0, 0))
        return np.asarray(image)
    x0, x1 = float(xs.min()), float(xs.max()) if xs.max() > xs.min() else float(xs.min()) + 1
    y0, y1 = float(ys.min()), float(ys.max()) if ys.max() > ys.min() else float(ys.min()) + 1
    label = (lambda v: f"{10 ** v:.3g}") if log_y else (lambda v: f"{v:.3g}")
    draw.text((4, top), label(y1), fill=(0, 0, 0))
    draw.text((4, bottom - 10), label(y0), fill=(0, 0, 0))
    draw.text((left, bottom + 6), f"{x0:g}", fill=(0, 0, 0))
    draw.text((right - 40, bottom + 6), f"{x1:g}", fill=(0, 0, 0))
    for i, (name, (x, y)) in enumerate(pts.items()):
        color = tuple(int(c) for c in PALETTE[(3 * i) % len(PALETTE)])
        px = left + (x - x0) / (x1 - x0) * (right - left)
        py = bottom - (y - y0) / (y1 - y0) * (bottom - top)
        if len(px) > 1:
            draw.line(list(zip(px.tolist(), py.tolist())), fill=color, width=2)
        elif len(px):
            draw.ellipse((px[0] - 3, py[0] - 3, px[0] + 3, py[0] + 3), fill=color)
        draw.text((right - 110, top + 4 + 12 * i), name, fill=color)
    return np.asarray(image)


def loss_curve_markdown(history: Sequence[dict], val: Sequence[tuple[int, float]] = ()) -> str:
    """Markdown with the training loss per step (and validation loss at the saves) as one PNG."""
    steps = [h["step"] for h in history]
    series = {"train loss": (steps, [h["loss"] for h in history])}
    if val:
        series["val loss"] = ([s for s, _ in val], [v for _, v in val])
    return preview_markdown([("loss curve", line_chart(series, title="loss (log scale) by step", log_y=True))])


def bar_chart(groups: Sequence[str], series: Sequence[str], values: np.ndarray, *, title: str = "",
              width: int = 720, height: int = 300, vmax: float = 1.0) -> np.ndarray:
    """Grouped vertical bars: ``values[s, g]`` for series ``s`` in group ``g`` (NaN: no bar), on a
    0..``vmax`` axis, with a legend; (H, W, 3) uint8."""
    values = np.asarray(values, dtype=np.float64).reshape(len(series), len(groups))
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    left, right, top, bottom = 36, 150, 22, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    draw.text((left, 4), title, fill=(0, 0, 0))
    for k in range(5):  # grid at 0, 25, 50, 75, 100 %
        y = top + plot_h - plot_h * k / 4
        draw.line((left, y, left + plot_w, y), fill=(225, 225, 225))
        draw.text((2, y - 6), f"{vmax * k / 4:.2f}".rstrip("0").rstrip(".") if vmax != 1.0 else f"{25 * k}%", fill=(90, 90, 90))
    colors = [tuple(int(c) for c in PALETTE[(3 * s) % len(PALETTE)]) for s in range(len(series))]
    group_w = plot_w / max(1, len(groups))
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    for g, name in enumerate(groups):
        x0 = left + g * group_w + group_w * 0.1
        for s in range(len(series)):
            v = values[s, g]
            if not np.isfinite(v):
                continue
            h = plot_h * min(max(v / vmax, 0.0), 1.0)
            draw.rectangle((x0 + s * bar_w, top + plot_h - h, x0 + (s + 1) * bar_w - 1, top + plot_h), fill=colors[s])
        draw.text((left + g * group_w + 2, top + plot_h + 4), str(name)[: max(4, int(group_w / 6))], fill=(0, 0, 0))
    for s, name in enumerate(series):
        y = top + 14 * s
        draw.rectangle((width - right + 8, y, width - right + 18, y + 10), fill=colors[s])
        draw.text((width - right + 22, y), str(name), fill=(0, 0, 0))
    return np.asarray(image)
