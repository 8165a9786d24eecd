"""Results do not depend on the machine's cores: a fit run with a two-thread BLAS gives the same
bits as one run on one thread (sim.core.threads). Before the fix, a two-year window's
strategic-absence gamma came out -5.155 on one thread and -5.151 on two."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from sim.estimate.window import fit_window
from sim.io.data import load_roll_calls


def _threaded_blas() -> bool:
    return any(lib.get("user_api") == "blas" for lib in threadpool_info())


@pytest.mark.slow
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: a BLAS cannot split its work")
def test_window_fit_is_the_same_whatever_the_blas_threads(data_dir, tmp_path, monkeypatch):
    assert _threaded_blas()
    data = load_roll_calls(data_dir)
    fits = []
    for threads in (1, 2):
        # Each fit from scratch: its own cache, so nothing is read back from the other.
        monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path / f"cache-{threads}"))
        with threadpool_limits(limits=threads, user_api="blas"):
            fits.append(
                fit_window(
                    data,
                    start=pd.Timestamp("2019-01-01"),
                    end=pd.Timestamp("2021-01-01"),
                    dimension="co",
                )
            )
    one, two = fits
    assert one.absence == two.absence
    assert one.persistence == two.persistence
    pd.testing.assert_frame_equal(one.est.members_, two.est.members_, check_exact=True)
    pd.testing.assert_frame_equal(one.est.items_, two.est.items_, check_exact=True)
