"""Labelled results of a replay: ``ReplayResult.to_xarray()`` as a Dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.core.acts import ACTS
from sim.run.replay import replay

ICJ = Path(__file__).resolve().parents[1] / "scenarios" / "icj_referral_2022.toml"


def test_a_replay_as_a_dataset_has_draws_members_and_the_tally():
    result = replay(ICJ, n_draws=30, seed=2)
    ds = result.to_xarray()
    odds = ds["act_probability"]  # what to_xarray() returned before, as a DataArray
    assert odds.dims == ("draw", "member", "act")
    assert list(ds["draw"].values) == list(range(30))
    assert list(ds["act"].values) == list(ACTS)
    np.testing.assert_array_equal(odds.values, result.odds)
    np.testing.assert_allclose(ds["tally"].sum("count"), 1.0, atol=1e-9)
    expected = (ds["tally"] * ds["count"]).sum("count")
    np.testing.assert_allclose(expected, ds["expected"], rtol=1e-9)
    assert ds.attrs["p_adopted"] == pytest.approx(float(ds["p_adopted_draw"].mean()), abs=1e-12)
    assert ds.attrs["p_adopted"] == result.tally.prob_pass()
    ukr = odds.sel(member="UKR").mean("draw")
    assert float(ukr.sel(act="abstain")) == pytest.approx(result.member("UKR")["p_abstain"])
