"""Issue 13, item 9: a drop id must match the pattern as a whole (no trailing newline slips through)."""

import os

import pytest

from hispatial_assets.cli.commands import main
from hispatial_assets.defs.sensors import list_ready_drops
from hispatial_assets.storage.layout import InvalidDropId, check_drop_id

BAD_IDS = ["nl\n", "cr\r", "tab\tid", "sp ace", "", ".hidden", "-dash", "_under", "../evil", "a/b", "a..b", "..",
           "x" * 129, "semi;colon", "quote'", "caf\u00e9"]


@pytest.mark.parametrize("bad", BAD_IDS, ids=[repr(b) for b in BAD_IDS])
def test_a_bad_drop_id_is_refused_by_the_cli_and_skipped_by_the_sensor(bad, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    with pytest.raises(InvalidDropId):
        check_drop_id(bad)
    assert main(["make-drop", f"--id={bad}", "--images", "1", "--root", str(tmp_path / "root")]) == 2
    assert "invalid drop id" in capsys.readouterr().err
    assert not (tmp_path / "root" / "drops").exists() or not os.listdir(tmp_path / "root" / "drops")
    if bad and "/" not in bad and bad not in ("..",):  # a folder can carry this name: the sensor must skip it
        folder = tmp_path / "drops" / bad
        folder.mkdir(parents=True)
        (folder / "_READY").touch()
        ready, skipped = list_ready_drops(str(tmp_path / "drops"))
        assert ready == [] and (skipped or bad.startswith("."))


def test_good_drop_ids_pass_unchanged():
    for good in ["a", "kitchen_01", "v1.2-final", "A" * 128]:
        assert check_drop_id(good) == good
