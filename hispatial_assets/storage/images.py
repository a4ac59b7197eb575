"""Image decoding with reasons: a bad file is rejected with why, never crashes the drop."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
SUPPORTED_MODES = {"RGB", "RGBA", "L", "P", "LA", "I;16", "I"}


class ImageRejected(ValueError):
    """Carries the reason an image file cannot enter the pipeline."""


def probe_image(data: bytes) -> tuple[int, int, str]:
    """(width, height, format) of an image that fully decodes; raises ImageRejected otherwise."""
    if len(data) == 0:
        raise ImageRejected("empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, mode, size = im.format, im.mode, im.size
            if mode not in SUPPORTED_MODES:
                raise ImageRejected(f"unsupported image mode {mode!r}")
            im.load()  # forces a full decode: catches truncated files
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected("not an image (unrecognized format)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageRejected(f"corrupt or truncated image: {e}") from None
    if size[0] < 8 or size[1] < 8:
        raise ImageRejected(f"image too small: {size[0]}x{size[1]}")
    return size[0], size[1], str(fmt)


def decode_rgb(data: bytes) -> np.ndarray:
    probe_image(data)
    with Image.open(io.BytesIO(data)) as im:
        if im.mode in ("I;16", "I"):
            arr = np.asarray(im, dtype=np.float64)
            arr = (255 * arr / max(arr.max(), 1)).astype(np.uint8)
            return np.repeat(arr[..., None], 3, axis=2)
        return np.asarray(im.convert("RGB"))
