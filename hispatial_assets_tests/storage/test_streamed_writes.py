"""io.write_parquet_batches: a table written row group by row group lands whole or not at all, on a
local disk and on an object store, with the size and hash of the file it wrote."""

import os

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hispatial_assets.storage import io


def batches(fail_after: int | None = None):
    for i in range(3):
        if i == fail_after:
            raise RuntimeError("generator died mid-table")
        yield pl.DataFrame({"i": [i, i], "s": [f"a{i}", None]})


@pytest.mark.parametrize("base", ["local", "memory://streamed"])
def test_batches_land_whole_with_their_size_and_hash(tmp_path, base):
    uri = io.join(str(tmp_path) if base == "local" else base, "t", "part.parquet")
    size, sha256 = io.write_parquet_batches(uri, batches())
    data = io.read_bytes(uri)
    assert (size, sha256) == (len(data), io.sha256_bytes(data))
    assert_frame_equal(io.read_parquet(uri), pl.concat(list(batches())))


def test_a_failed_stream_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    uri = io.join(str(tmp_path), "t", "part.parquet")
    io.write_parquet(uri, pl.DataFrame({"i": [7], "s": ["old"]}))
    with pytest.raises(RuntimeError, match="mid-table"):
        io.write_parquet_batches(uri, batches(fail_after=2))
    assert io.read_parquet(uri)["s"].to_list() == ["old"]
    assert os.listdir(tmp_path / "t") == ["part.parquet"]


def test_an_empty_temp_nobody_holds_is_stale_at_once_and_an_unlocked_claim_only_when_old(tmp_path):
    """A streamed write can sit empty and locked while its first batch is computed; once its writer
    is killed the empty temp is unlocked and must go on the next write. A claim (created, not yet
    locked) is kept for a few seconds: its writer may be about to lock it."""
    import os
    import time

    from hispatial_assets.storage import io

    empty_temp = tmp_path / f"part.parquet{io.TEMP_MARK}aaaaaaaaaaaa"
    young_claim = tmp_path / f"part.parquet{io.CLAIM_MARK}bbbbbbbbbbbb"
    old_claim = tmp_path / f"part.parquet{io.CLAIM_MARK}cccccccccccc"
    for p in (empty_temp, young_claim, old_claim):
        p.write_bytes(b"")
    old = time.time() - io.STALE_CLAIM_S - 5
    os.utime(old_claim, (old, old))
    assert sorted(io.remove_stale_temps(str(tmp_path))) == sorted([str(empty_temp), str(old_claim)])
    assert young_claim.exists()
