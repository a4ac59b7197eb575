"""`hispatial` whose point-map backend waits at the test's gate (see harness.gated)."""

import sys

from hispatial_assets.perception import registry
from hispatial_assets_tests.faults.harness import gated

build_backend = registry.build_backend
registry.build_backend = lambda stage, spec: gated(build_backend(stage, spec)) if stage == "point_maps" else build_backend(stage, spec)

if __name__ == "__main__":
    from hispatial_assets.cli.commands import main

    sys.exit(main(sys.argv[1:]))
