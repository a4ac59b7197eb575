import numpy as np

from hispatial_assets.storage.images import ImageRef
from hispatial_assets.perception.point_maps import SyntheticPointMaps
from hispatial_assets.scenes import load_truth, write_drop
from hispatial_assets.storage import io
from hispatial_assets.storage.point_maps import load_point_map, write_point_map


def test_stored_synthetic_point_map_equals_ground_truth_within_storage_precision(data_root):
    ids = write_drop(data_root.root, "s", n_images=2, seed=9, width=160, height=120, outdoor_share=0.5)
    for image_id in ids:
        uri = io.join(data_root.drop_uri("s"), f"{image_id}.png")
        ref = ImageRef("s", image_id, uri, 160, 120)
        target = data_root.point_map_uri("s", image_id)
        write_point_map(target, SyntheticPointMaps().estimate(ref))
        stored, truth = load_point_map(target), load_truth(uri).point_map()
        assert np.array_equal(stored.mask, truth.mask)
        z = truth.xyz[..., 2][truth.mask]
        err = np.abs(stored.xyz[truth.mask] - truth.xyz[truth.mask]).max(axis=1)
        assert np.all(err <= z * 2.0**-16)
        np.testing.assert_allclose(stored.intrinsics, truth.intrinsics, rtol=1e-6)
