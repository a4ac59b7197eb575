"""`python -m hispatial_assets.cli` is the `hispatial` command."""

import sys

from hispatial_assets.cli.commands import main

sys.exit(main())
