import numpy as np
import pytest

from hispatial_assets.geometry.camera import PointMap, intrinsics_from_fov, unproject
from hispatial_assets.storage import io
from hispatial_assets.storage.point_maps import decode_point_map, encode_point_map, load_point_map, write_point_map


def pinhole_map(h=48, w=64, seed=0) -> PointMap:
    rng = np.random.default_rng(seed)
    depth = rng.uniform(0.5, 12.0, (h, w)).astype(np.float32)
    depth[rng.random((h, w)) < 0.1] = 0  # holes
    return unproject(depth, intrinsics_from_fov(w, h, 70))


def test_pinhole_point_map_round_trips_within_the_storage_precision(tmp_path):
    pm = pinhole_map()
    uri = str(tmp_path / "pm.npz")
    write_point_map(uri, pm)
    back = load_point_map(uri)
    assert back.xyz.dtype == np.float32 and back.xyz.shape == pm.xyz.shape
    assert np.array_equal(back.mask, pm.mask)
    z = pm.xyz[..., 2][pm.mask]
    err = np.abs(back.xyz[pm.mask] - pm.xyz[pm.mask]).max(axis=1)
    assert np.all(err <= z * 2.0**-16)  # 16 kept mantissa bits: relative error <= 2^-17 (+ ray rounding)
    np.testing.assert_allclose(back.intrinsics, pm.intrinsics)


def test_pinhole_map_is_stored_as_depth_and_general_map_as_xyz():
    pm = pinhole_map()
    assert "depth_planes" in io.read_npz_bytes(encode_point_map(pm))
    bent = PointMap(xyz=pm.xyz * np.array([1.0, 1.0, 1.0], np.float32) + np.array([0.3, 0, 0], np.float32),
                    mask=pm.mask, intrinsics=pm.intrinsics)
    arrays = io.read_npz_bytes(encode_point_map(bent))
    assert "xyz_planes" in arrays and "depth_planes" not in arrays
    back = decode_point_map(arrays)
    np.testing.assert_allclose(back.xyz[bent.mask], bent.xyz[bent.mask], rtol=2.0**-16, atol=1e-7)


def test_point_map_bytes_are_deterministic_and_compact():
    pm = pinhole_map(h=96, w=128)  # white-noise depth: the worst case for compression
    a, b = encode_point_map(pm), encode_point_map(pm)
    assert a == b
    assert len(a) / (96 * 128) < 3.2  # 2 significant bytes + exponent byte + 1 bit mask (float32 xyz: 12)


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    uri = str(tmp_path / "a" / "b.bin")
    io.write_bytes(uri, b"x" * 10)
    io.write_bytes(uri, b"y" * 5)
    assert io.read_bytes(uri) == b"yyyyy"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.bin"]


def test_memory_filesystem_works_for_point_maps():
    pm = pinhole_map()
    write_point_map("memory://pm/test.npz", pm)
    assert np.array_equal(load_point_map("memory://pm/test.npz").mask, pm.mask)


def test_load_point_map_of_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_point_map(str(tmp_path / "nope.npz"))
