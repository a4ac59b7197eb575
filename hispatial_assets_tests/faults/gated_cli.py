"""`hispatial` with the scene engine's point maps behind a test gate (see harness.GatedPointMaps)."""

import sys

from hispatial_assets.perception import registry

registry.BACKENDS["point_maps"]["synthetic"] = "hispatial_assets_tests.faults.harness:GatedPointMaps"

if __name__ == "__main__":
    from hispatial_assets.cli import main

    sys.exit(main(sys.argv[1:]))
