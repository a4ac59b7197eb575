"""Train / val / test split of every drop, decided by the drop id alone (never by its content).

Splits are by drop, so no image of a held-out drop reaches training, and deterministic, so the
same drop lands in the same split on every machine and in every run. An explicit prefix wins
(``test_``/``heldout_`` → test, ``val_`` → val): that is how the self-built benchmark and the
ablations name the drops they hold out. Other ids go by a hash of the id.
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "val", "test")
TEST_PREFIXES = ("test_", "heldout_")
VAL_PREFIXES = ("val_",)
DEFAULT_VAL_SHARE = 0.1
DEFAULT_TEST_SHARE = 0.1


def split_of(drop_id: str, *, val_share: float = DEFAULT_VAL_SHARE, test_share: float = DEFAULT_TEST_SHARE) -> str:
    """'train', 'val' or 'test' for a drop id."""
    if drop_id.startswith(TEST_PREFIXES):
        return "test"
    if drop_id.startswith(VAL_PREFIXES):
        return "val"
    u = int(hashlib.sha256(drop_id.encode()).hexdigest()[:8], 16) / 2**32
    if u < test_share:
        return "test"
    if u < test_share + val_share:
        return "val"
    return "train"
