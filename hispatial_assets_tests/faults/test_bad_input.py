"""Issue 13, items 2, 4, 7, 10 (EXIF, all rejected) and the bad-input corpus: every file of a drop
is processed or rejected with a named reason, nothing else is lost, nothing outside is read."""

import io as _io
import json
import os
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from PIL import Image

from hispatial_assets.catalog.duckdb import query
from hispatial_assets.cli.commands import main
from hispatial_assets.storage import io
from hispatial_assets.storage.drop_scan import scan_drop
from hispatial_assets.storage.images import decode_rgb, probe_image
from hispatial_assets.storage.layout import DataRoot
from hispatial_assets_tests.faults.conftest import scene_drop
from hispatial_assets_tests.faults.corpus import IMAGE, build_corpus, jpeg, picture, png


@pytest.fixture
def cli_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("HISPATIAL_ROOT", raising=False)
    return DataRoot.resolve(str(tmp_path / "root"))


def drop_outcomes(root: DataRoot, drop_id: str) -> tuple[dict[str, str], pl.DataFrame]:
    """relative path -> IMAGE or the rejection reason (drop_manifest's), and the images table."""
    base = root.drop_uri(drop_id) + "/"
    images = query(root, f"select * from images where drop_id = '{drop_id}'")
    rejected = query(root, f"select uri, reason from rejected where drop_id = '{drop_id}' and stage = 'drop_manifest'")
    outcomes = {uri.removeprefix(base): IMAGE for uri in images["uri"]}
    for uri, reason in rejected.iter_rows():
        assert uri.removeprefix(base) not in outcomes, f"{uri} is both an image and rejected"
        outcomes[uri.removeprefix(base)] = reason
    assert len(outcomes) == len(images) + len(rejected), "an entry is listed twice"
    return outcomes, images


def assert_outcomes(outcomes: dict[str, str], expected: dict[str, str]) -> None:
    assert set(outcomes) == set(expected), f"lost: {set(expected) - set(outcomes)}; extra: {set(outcomes) - set(expected)}"
    wrong = {rel: (outcomes[rel], want) for rel, want in expected.items()
             if (want == IMAGE) != (outcomes[rel] == IMAGE) or want not in outcomes[rel] and want != IMAGE}
    assert not wrong, wrong


def test_the_corpus_through_add_drop_every_file_processed_or_rejected_with_its_reason(cli_root, tmp_path, bomb, capsys):
    expected = build_corpus(tmp_path / "incoming", bomb, tmp_path / "outside")

    code = main(["add-drop", str(tmp_path / "incoming"), "--id", "corpus", "--root", cli_root.root, "--run"])

    assert code == 0, capsys.readouterr()
    outcomes, images = drop_outcomes(cli_root, "corpus")
    assert_outcomes(outcomes, expected)
    assert images["image_id"].n_unique() == len(images)
    # links were not followed: nothing from outside the folder was copied, no link was made
    copied = {p: p.read_bytes() for p in (tmp_path / "root" / "drops" / "corpus").rglob("*") if p.is_file()}
    outside = {open("/etc/passwd", "rb").read(), (tmp_path / "outside" / "elsewhere.png").read_bytes()}
    assert not [p for p, data in copied.items() if data in outside]
    assert not [p for p in (tmp_path / "root" / "drops" / "corpus").rglob("*") if p.is_symlink()]


def test_the_corpus_placed_as_a_drop_folder_for_the_sensor_is_scanned_the_same_way(tmp_path, bomb):
    drop = tmp_path / "root" / "drops" / "inplace"
    expected = build_corpus(drop, bomb, tmp_path / "outside")

    manifest = scan_drop(str(drop), "inplace")

    base = str(drop) + "/"
    outcomes = {u.removeprefix(base): IMAGE for u in manifest.images["uri"]}
    outcomes |= {u.removeprefix(base): r for u, r in manifest.rejected.select("uri", "reason").iter_rows()}
    assert len(outcomes) == len(manifest.images) + len(manifest.rejected)
    assert_outcomes(outcomes, expected)


def test_a_decompression_bomb_is_rejected_with_its_reason_and_the_other_images_go_on(cli_root, bomb, capsys):
    drop = scene_drop(cli_root.root, "with_bomb", seed=3)
    io.write_bytes(io.join(drop, "huge.png"), bomb)

    assert main(["add-drop", drop, "--id", "with_bomb", "--root", cli_root.root, "--run"]) == 0, capsys.readouterr()

    outcomes, images = drop_outcomes(cli_root, "with_bomb")
    assert len(images) == 2 and "image too large: 400.0 MP" in outcomes["huge.png"]
    assert query(cli_root, "select count(*) as n from qa where drop_id = 'with_bomb'")["n"][0] > 0


def test_the_pixel_limit_is_a_setting(monkeypatch):
    data = png(picture(48, 64))
    assert probe_image(data).width == 64
    monkeypatch.setenv("HISPATIAL_MAX_IMAGE_PIXELS", str(48 * 64 - 1))
    with pytest.raises(ValueError, match=r"image too large: 64x48 .*HISPATIAL_MAX_IMAGE_PIXELS"):
        probe_image(data)


def test_colliding_file_names_get_distinct_image_ids_and_qa_ids_are_unique_across_the_catalog(cli_root, capsys):
    drop = scene_drop(cli_root.root, "clash", seed=4)  # img_0000.png, img_0001.png with scene truth
    rgb = np.asarray(Image.open(f"{drop}/img_0000.png").convert("RGB"))
    io.write_bytes(f"{drop}/img_0000.jpg", jpeg(rgb))  # the same scene as a JPEG, next to the PNG
    os.makedirs(f"{drop}/sub")
    os.rename(f"{drop}/img_0001.png", f"{drop}/sub__img_0001.png")
    io.write_bytes(f"{drop}/sub/img_0001.png", io.read_bytes(f"{drop}/sub__img_0001.png"))
    for suffix in (".truth.json", ".truth.npz"):  # every image keeps its scene truth, so every image has objects
        os.rename(f"{drop}/img_0001{suffix}", f"{drop}/sub__img_0001{suffix}")
        io.write_bytes(f"{drop}/sub/img_0001{suffix}", io.read_bytes(f"{drop}/sub__img_0001{suffix}"))
    scene_drop(cli_root.root, "other", seed=5)  # the same file names in another drop

    assert main(["add-drop", drop, "--id", "clash", "--root", cli_root.root, "--run"]) == 0, capsys.readouterr()
    assert main(["add-drop", f"{cli_root.root}/drops/other", "--id", "other", "--root", cli_root.root, "--run"]) == 0

    images = query(cli_root, "select image_id, uri from images where drop_id = 'clash' order by uri")
    assert len(images) == 4 and images["image_id"].n_unique() == 4
    assert all(i.startswith(("img_0000-", "sub__img_0001-")) for i in images["image_id"])
    counts = query(cli_root, "select count(*) as n, count(distinct qa_id) as ids, count(distinct drop_id) as drops from qa")
    assert counts["n"][0] == counts["ids"][0] and counts["drops"][0] == 2
    per_image = query(cli_root, "select image_id, count(distinct level) as levels from qa where drop_id = 'clash' group by 1")
    assert len(per_image) == 4 and per_image["levels"].min() == 4


def test_unique_names_keep_the_image_ids_they_always_had(tmp_path):
    drop = tmp_path / "d"
    for rel in ["img_0000.png", "sub/img_0001.png"]:
        io.write_bytes(str(drop / rel), png(picture()))
    assert scan_drop(str(drop), "d").images["image_id"].to_list() == ["img_0000", "sub__img_0001"]


def test_add_drop_does_not_follow_links_and_a_link_loop_does_not_crash_it(cli_root, tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.png").write_bytes(png(picture()))
    os.symlink("/etc/passwd", src / "passwd")
    os.symlink(".", src / "loopdir")

    assert main(["add-drop", str(src), "--id", "links", "--root", cli_root.root]) == 0
    err = capsys.readouterr().err
    assert "passwd" in err and "loopdir" in err and "not followed" in err
    dest = tmp_path / "root" / "drops" / "links"
    assert sorted(p.name for p in dest.iterdir()) == ["_READY", "_SKIPPED.json", "a.png"]
    skipped = json.loads((dest / "_SKIPPED.json").read_text())
    assert {e["path"] for e in skipped} == {"passwd", "loopdir"}


def test_an_interrupted_copy_leaves_nothing_behind_and_the_retry_works(cli_root, tmp_path, monkeypatch, capsys):
    src = tmp_path / "src"
    for i in range(5):
        io.write_bytes(str(src / f"img_{i}.png"), png(picture(seed=i)))
    write_bytes, calls = io.write_bytes, []

    def disk_full_on_the_third_file(uri, data):
        calls.append(uri)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return write_bytes(uri, data)

    monkeypatch.setattr(io, "write_bytes", disk_full_on_the_third_file)
    assert main(["add-drop", str(src), "--id", "half", "--root", cli_root.root]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: OSError") and "No space left on device" in err and err.count("\n") == 1  # no traceback
    monkeypatch.setattr(io, "write_bytes", write_bytes)
    drops_dir = tmp_path / "root" / "drops"
    assert list(drops_dir.iterdir()) == []

    assert main(["add-drop", str(src), "--id", "half", "--root", cli_root.root]) == 0
    assert sorted(p.name for p in (drops_dir / "half").iterdir()) == ["_READY"] + [f"img_{i}.png" for i in range(5)]


def test_a_copy_killed_midway_is_cleaned_up_by_the_next_add_drop(cli_root, tmp_path):
    from hispatial_assets.storage.drop_scan import INCOMING_PREFIX

    src = tmp_path / "src"
    io.write_bytes(str(src / "a.png"), png(picture()))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    staging = tmp_path / "root" / "drops" / f"{INCOMING_PREFIX}{dead.pid}-0badc0de"  # what kill -9 mid-copy leaves
    io.write_bytes(str(staging / "a.png"), b"half")

    assert main(["add-drop", str(src), "--id", "again", "--root", cli_root.root]) == 0
    assert sorted(p.name for p in (tmp_path / "root" / "drops").iterdir()) == ["again"]


def test_exif_orientation_is_applied_to_pixels_and_sizes_and_recorded(tmp_path):
    upright = picture(48, 64)
    stored = np.rot90(upright, k=1).copy()  # orientation 6: the camera stored it turned; viewers rotate 90° clockwise
    drop = tmp_path / "d"
    buf = _io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(buf, format="PNG", exif=exif.tobytes())
    io.write_bytes(str(drop / "turned.png"), buf.getvalue())

    row = scan_drop(str(drop), "d").images.row(0, named=True)

    assert (row["width"], row["height"], row["orientation"]) == (64, 48, 6)
    np.testing.assert_array_equal(decode_rgb(buf.getvalue()), upright)


def test_a_drop_whose_every_file_is_rejected_ends_with_a_warning_that_says_why(cli_root, tmp_path, capsys):
    src = tmp_path / "src"
    io.write_bytes(str(src / "empty.png"), b"")
    io.write_bytes(str(src / "notes.txt"), b"hello")

    code = main(["add-drop", str(src), "--id", "nothing", "--root", cli_root.root, "--run"])

    out = capsys.readouterr()
    assert code == 3, out
    assert "finished with warnings" in out.out
    assert "every file was rejected (2)" in out.err and "empty file" in out.err and "unsupported file type" in out.err
