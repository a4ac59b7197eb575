"""COCO RLE round trips and mask helpers."""

from __future__ import annotations

import numpy as np

from hispatial_assets.geometry.masks import decode_rle, decode_rles, encode_rle, encode_rles, mask_boxes, mask_ious, rle_area


def test_rle_round_trip_of_a_stack():
    rng = np.random.default_rng(0)
    masks = rng.random((4, 37, 53)) > 0.6
    masks[3] = False
    counts = encode_rles(masks)
    assert all(isinstance(c, str) for c in counts)
    assert np.array_equal(decode_rles(counts, (37, 53)), masks)
    assert rle_area(counts, (37, 53)).tolist() == masks.reshape(4, -1).sum(1).tolist()


def test_single_rle_round_trip():
    m = np.zeros((10, 12), dtype=bool)
    m[2:5, 3:9] = True
    assert np.array_equal(decode_rle(encode_rle(m), m.shape), m)


def test_mask_boxes_are_exclusive_xyxy():
    m = np.zeros((2, 10, 12), dtype=bool)
    m[0, 2:5, 3:9] = True
    boxes = mask_boxes(m)
    assert boxes[0].tolist() == [3, 2, 9, 5]
    assert np.isnan(boxes[1]).all()


def test_mask_ious():
    a = np.zeros((1, 4, 4), dtype=bool)
    a[0, :2] = True
    b = np.zeros((2, 4, 4), dtype=bool)
    b[0, :1] = True
    b[1, 2:] = True
    assert mask_ious(a, b).tolist() == [[0.5, 0.0]]
