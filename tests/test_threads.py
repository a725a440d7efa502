"""Thread limits for processes sharing a machine's cores."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

import pytest

from transzero.threads import limit_encoder_threads, limit_process_threads


def test_an_encoder_left_at_every_core_gets_the_share_and_a_chosen_count_is_kept() -> None:
    unset, chosen, other = SimpleNamespace(num_threads=None), SimpleNamespace(num_threads=3), SimpleNamespace()
    for enc in (unset, chosen, other):
        limit_encoder_threads(enc, 2)
    assert unset.num_threads == 2 and chosen.num_threads == 3 and not hasattr(other, "num_threads")
    limit_encoder_threads(fresh := SimpleNamespace(num_threads=None), None)
    assert fresh.num_threads is None


def test_the_process_limit_sets_openmp_and_a_loaded_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    # (a stand-in torch: the suite's own torch keeps its threads)
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(set_num_threads=calls.append))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    limit_process_threads(None)
    assert "OMP_NUM_THREADS" not in os.environ and calls == []
    limit_process_threads(1)
    assert os.environ["OMP_NUM_THREADS"] == "1" and calls == [1]
