import io as _io
import json

import numpy as np
from PIL import Image

from hispatial_assets.storage import io
from hispatial_assets.storage.drop_scan import scan_drop


def _png(arr) -> bytes:
    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_bad_files_are_rejected_with_reasons_and_the_rest_goes_on(tmp_path):
    drop = tmp_path / "drop"
    good = _png(np.full((32, 40, 3), 120, np.uint8))
    io.write_bytes(str(drop / "good.png"), good)
    io.write_bytes(str(drop / "sub" / "good2.png"), good)
    io.write_bytes(str(drop / "empty.png"), b"")
    io.write_bytes(str(drop / "truncated.png"), good[: len(good) // 2])
    io.write_bytes(str(drop / "notes.png"), b"this is text, not an image")
    cmyk = _io.BytesIO()
    Image.new("CMYK", (32, 32)).save(cmyk, format="JPEG")
    io.write_bytes(str(drop / "print.jpg"), cmyk.getvalue())
    io.write_bytes(str(drop / "readme.txt"), b"hello")
    io.write_bytes(str(drop / "good.truth.json"), b"{}")  # a sidecar: neither image nor rejected

    m = scan_drop(str(drop), "d1")

    assert m.images["image_id"].to_list() == ["good", "sub__good2"]
    assert m.images["width"].to_list() == [40, 40] and m.images["height"].to_list() == [32, 32]
    assert json.loads(m.images["sidecars"][0]) == ["truth"]
    assert m.images["sha256"][0] == io.sha256_bytes(good)
    reasons = {r["uri"].rsplit("/", 1)[-1]: r["reason"] for r in m.rejected.iter_rows(named=True)}
    assert set(reasons) == {"empty.png", "truncated.png", "notes.png", "print.jpg", "readme.txt"}
    assert "0 bytes" in reasons["empty.png"]
    assert "truncated" in reasons["truncated.png"]
    assert "not an image" in reasons["notes.png"]
    assert "CMYK" in reasons["print.jpg"]
    assert "unsupported file type" in reasons["readme.txt"]
