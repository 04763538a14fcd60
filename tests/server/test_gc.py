"""`tune_gc`: start-up objects frozen out of later collections, thresholds set."""

from __future__ import annotations

import gc

from abstractcore_actors.server import tune_gc


def test_tune_gc_freezes_what_lives_and_sets_the_thresholds() -> None:
    before = gc.get_threshold()
    long_lived = [[i] for i in range(1000)]  # containers the collector tracks
    try:
        tune_gc((5000, 20, 30))
        assert gc.get_threshold() == (5000, 20, 30)
        assert gc.get_freeze_count() >= len(long_lived)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert gc.get_freeze_count() == 0
