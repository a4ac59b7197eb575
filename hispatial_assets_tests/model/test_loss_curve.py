"""The loss curve on the checkpoints asset page: a PNG line chart drawn with PIL."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from hispatial_assets.drawing.previews import PALETTE
from hispatial_assets.drawing.charts import line_chart, loss_curve_markdown


def test_a_falling_series_is_drawn_from_the_top_left_to_the_bottom_right_of_the_plot():
    image = line_chart({"loss": ([0, 1, 2], [100.0, 10.0, 1.0])}, width=200, height=120, log_y=True)
    color = PALETTE[0]
    hits = np.argwhere((image == color).all(axis=-1))
    plot = hits[(hits[:, 1] >= 56) & (hits[:, 1] < 188)]  # the plotting area, legend excluded
    top_left, bottom_right = plot[plot[:, 1].argmin()], plot[plot[:, 1].argmax()]
    assert top_left[0] <= 27 and bottom_right[0] >= 90  # y=100 at the top edge (24), y=1 at the bottom (92)
    # on a log axis 10 sits half-way: the middle column is drawn at mid-height
    mid = plot[np.abs(plot[:, 1] - 122) <= 1][:, 0].mean()
    assert abs(mid - (24 + 92) / 2) <= 3


def test_the_markdown_carries_a_decodable_png_and_skips_non_finite_losses():
    history = [{"step": s, "loss": v} for s, v in enumerate([5.0, float("nan"), 2.0, 1.0], start=1)]
    md = loss_curve_markdown(history, val=[(4, 1.5)])
    data = base64.b64decode(md.split("base64,", 1)[1].rstrip(")"))
    assert Image.open(io.BytesIO(data)).size == (480, 260)
    assert line_chart({}, title="empty").shape == (260, 480, 3)
