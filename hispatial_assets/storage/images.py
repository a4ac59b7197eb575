"""Image decoding with reasons: a bad file is rejected with why, never crashes the drop."""

from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from hispatial_assets.storage.io import read_bytes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
SUPPORTED_MODES = {"RGB", "RGBA", "L", "P", "LA", "I;16", "I"}
# Larger images are rejected before decoding (a 20000x20000 PNG of a few hundred KB would decode to
# 1.2 GB). Pillow's own guard stops at twice its MAX_IMAGE_PIXELS (~179 MP) whatever this says.
MAX_PIXELS_ENV = "HISPATIAL_MAX_IMAGE_PIXELS"
DEFAULT_MAX_PIXELS = 100_000_000
EXIF_ORIENTATION = 0x0112  # 1 = stored upright; 2..8 = mirrored and/or rotated (5..8 swap width and height)


class ImageRejected(ValueError):
    """Carries the reason an image file cannot enter the pipeline."""


@dataclass(frozen=True)
class ImageInfo:
    width: int  # as displayed, i.e. after the EXIF orientation is applied
    height: int
    format: str
    orientation: int  # the EXIF orientation found (1 when absent)


def max_image_pixels() -> int:
    """``$HISPATIAL_MAX_IMAGE_PIXELS``, else 100 million."""
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    try:
        value = int(raw) if raw else DEFAULT_MAX_PIXELS
    except ValueError:
        raise ValueError(f"{MAX_PIXELS_ENV} must be a whole number of pixels, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{MAX_PIXELS_ENV} must be positive, got {value}")
    return value


def _orientation(im: Image.Image) -> int:
    try:
        value = int(im.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # unreadable EXIF block: the pixels still decode, treat as upright
        return 1
    return value if 1 <= value <= 8 else 1


def probe_image(data: bytes, *, max_pixels: int | None = None) -> ImageInfo:
    """Size, format and EXIF orientation of an image that fully decodes; raises ImageRejected otherwise.

    The pixel limit is checked from the header, before anything is decoded."""
    max_pixels = max_pixels or max_image_pixels()
    if len(data) == 0:
        raise ImageRejected("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                fmt, mode, (width, height) = im.format, im.mode, im.size
                if width * height > max_pixels:
                    raise ImageRejected(f"image too large: {width}x{height} = {width * height / 1e6:.1f} MP, over the "
                                        f"limit of {max_pixels / 1e6:.1f} MP (${MAX_PIXELS_ENV})")
                if mode not in SUPPORTED_MODES:
                    raise ImageRejected(f"unsupported image mode {mode!r}")
                im.verify()  # chunk checksums (PNG): a damaged file may otherwise decode to garbage
            with Image.open(io.BytesIO(data)) as im:
                orientation = _orientation(im)
                im.load()  # forces a full decode: catches truncated files
    except ImageRejected:
        raise
    except Image.DecompressionBombError as e:  # Pillow's own guard fires first, before the size is known
        pixels = re.search(r"\((\d+) pixels\)", str(e))
        size = f"{int(pixels.group(1)) / 1e6:.1f} MP" if pixels else "unknown size"
        raise ImageRejected(f"image too large: {size}, over the limit of {max_pixels / 1e6:.1f} MP "
                            f"(${MAX_PIXELS_ENV}; a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise ImageRejected("not an image (unrecognized format)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageRejected(f"corrupt or truncated image: {e}") from None
    if orientation >= 5:
        width, height = height, width
    if width < 8 or height < 8:
        raise ImageRejected(f"image too small: {width}x{height}")
    return ImageInfo(width, height, str(fmt), orientation)


def decode_rgb(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8 as displayed: the EXIF orientation is applied."""
    probe_image(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I;16", "I"):
                arr = np.asarray(im, dtype=np.float64)
                arr = (255 * arr / max(arr.max(), 1)).astype(np.uint8)
                return np.repeat(arr[..., None], 3, axis=2)
            return np.asarray(im.convert("RGB"))


def read_rgb(uri: str) -> np.ndarray:
    """(H, W, 3) uint8; raises ValueError with the reason when the file is not a usable image."""
    return decode_rgb(read_bytes(uri))


@dataclass(frozen=True)
class ImageRef:
    """One image of a drop, addressed by fsspec URI; sidecars share its stem (``<stem>.truth.json``)."""

    drop_id: str
    image_id: str
    uri: str
    width: int
    height: int

    def sidecar(self, suffix: str) -> str:
        stem = self.uri.rsplit(".", 1)[0]
        return f"{stem}{suffix}"

    def rgb(self) -> np.ndarray:
        return read_rgb(self.uri)
