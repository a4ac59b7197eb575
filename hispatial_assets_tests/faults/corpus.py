"""A bad-input corpus, generated: 17 kinds of bad file, a decompression bomb, colliding names,
symbolic links, and a few awkward files that must still be processed.

``build_corpus(folder)`` writes it and returns, for every entry of the folder (relative path),
what must become of it: ``IMAGE`` (a row in `images`) or the words its `rejected` reason must hold.
"""

from __future__ import annotations

import io as _io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE = "image"


def png(arr: np.ndarray, **kwargs) -> bytes:
    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", **kwargs)
    return buf.getvalue()


def jpeg(arr: np.ndarray, mode: str = "RGB", exif_orientation: int | None = None) -> bytes:
    buf = _io.BytesIO()
    im = Image.fromarray(arr).convert(mode)
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    im.save(buf, format="JPEG", quality=95, **kwargs)
    return buf.getvalue()


def picture(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """An image whose every pixel differs from its rotations (a gradient plus noise)."""
    rng = np.random.default_rng(seed)
    base = np.add.outer(np.arange(h) * 3, np.arange(w) * 2)[..., None] + np.array([0, 60, 120])
    return ((base + rng.integers(0, 20, (h, w, 3))) % 256).astype(np.uint8)


def bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A complete, valid grayscale PNG of ``width`` x ``height`` zeros: ~0.4 MB that decodes to 400 MB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    z = zlib.compressobj(9)
    rows = b"\x00" * (width + 1) * 100  # filter byte + one row of zeros, 100 rows at a time
    idat = b"".join(z.compress(rows) for _ in range(height // 100)) + z.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def corrupt_middle(data: bytes) -> bytes:
    """Flip bytes in the middle of the compressed data (checksum and decode fail, size unchanged)."""
    mid = len(data) // 2
    return data[:mid] + bytes(b ^ 0xFF for b in data[mid:mid + 16]) + data[mid + 16:]


def build_corpus(folder: Path, bomb: bytes, outside: Path) -> dict[str, str]:
    """Write the corpus into ``folder`` (``outside``: a folder next to it that links may point into)."""
    folder.mkdir(parents=True)
    outside.mkdir(parents=True, exist_ok=True)
    good = png(picture())
    expect: dict[str, str] = {}

    def put(rel: str, data: bytes, outcome: str) -> None:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        expect[rel] = outcome

    # processed, however awkward
    put("good.png", good, IMAGE)
    put("rotated.jpg", jpeg(picture(seed=1), exif_orientation=6), IMAGE)
    put("gray16.png", png((np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) * 20)), IMAGE)
    put("palette.png", _palette(picture(seed=2)), IMAGE)
    put("jpeg_bytes_named.png", jpeg(picture(seed=3)), IMAGE)
    put("name with spaces é.png", png(picture(seed=4)), IMAGE)
    # colliding names: one id each, all different
    put("img_0000.png", png(picture(seed=5)), IMAGE)
    put("img_0000.jpg", jpeg(picture(seed=6)), IMAGE)
    put("sub/x.png", png(picture(seed=7)), IMAGE)
    put("sub__x.png", png(picture(seed=8)), IMAGE)
    # the decompression bomb
    put("bomb.png", bomb, "image too large")
    # 17 kinds of bad file: empty; truncated PNG; truncated JPEG; corrupt data; text, random bytes and
    # HTML under image names; an unsupported mode; too small; a 1-pixel sliver; three unsupported
    # types (text, no suffix, zip); hidden (a file, a folder); a sidecar without its image; the temp
    # file of an unfinished write; a FIFO
    put("empty.png", b"", "empty file")
    put("truncated.png", good[: len(good) // 2], "corrupt or truncated")
    put("truncated.jpg", jpeg(picture(seed=9))[:600], "corrupt or truncated")
    put("bad_checksum.png", corrupt_middle(good), "corrupt or truncated")
    put("text.png", b"this is text, not an image\n" * 20, "not an image")
    put("random.jpg", np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(), "not an image")
    put("page.webp", b"<!doctype html><html><body>404</body></html>", "not an image")
    put("print.jpg", jpeg(picture(seed=10), mode="CMYK"), "unsupported image mode 'CMYK'")
    put("tiny.png", png(picture(4, 4)), "image too small")
    put("sliver.png", png(picture(300, 1)), "image too small")
    put("notes.txt", b"hello", "unsupported file type 'txt'")
    put("README", b"no suffix at all", "unsupported file type '(none)'")
    put("photos.zip", b"PK\x05\x06" + b"\x00" * 18, "unsupported file type 'zip'")
    put(".hidden.png", good, "hidden file")
    put(".thumbs/good.png", good, "hidden file")
    put("orphan.truth.json", b"{}", "sidecar without an image")
    put("half.png.tmp-0123456789ab", good[:100], "temporary file")
    os.mkfifo(folder / "fifo.png")
    expect["fifo.png"] = "a FIFO, not a regular file"
    # symbolic links: never followed, whether they point out, in, or in a loop
    (outside / "elsewhere.png").write_bytes(png(picture(seed=11)))
    for rel, target in {"passwd.png": "/etc/passwd", "outside.png": str(outside / "elsewhere.png"),
                        "alias.png": "good.png", "loopdir": ".", "up": ".."}.items():
        os.symlink(target, folder / rel)
        expect[rel] = "symbolic link"
    return expect


def _palette(rgb: np.ndarray) -> bytes:
    buf = _io.BytesIO()
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(buf, format="PNG")
    return buf.getvalue()
