"""A fitted window is kept on disk and read back exactly (issue 18, item 3): two scenarios
sharing a window and dimension share one fit, and the bundle made from the kept fit is the
bundle a fresh fit makes, byte for byte."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import sim.estimate.window_cache as window_cache
from sim.estimate.window import bundle_from_fit, fit_window
from sim.io.bundles import bundle_from_frames
from sim.io.data import load_roll_calls

START, END = pd.Timestamp("2020-12-30"), pd.Timestamp("2021-12-30")  # one session, a quick fit


def _bundle(fit, like):
    members, meta = bundle_from_fit(
        fit, like=like, by_title=None, previous=None, name="t", where="t", data_sha256="x"
    )
    return bundle_from_frames(members, meta)


def test_a_window_fitted_once_is_read_back_to_the_same_bundle(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path))
    data = load_roll_calls(data_dir)
    fresh = fit_window(data, start=START, end=END, dimension="me")
    kept = list(window_cache.window_cache_dir().glob("*/window.json"))
    assert len(kept) == 1
    assert len(list(window_cache.window_cache_dir().glob("*/done-*/parts.json"))) == 1

    def no_fit(self, window):
        raise AssertionError("fitted again")

    monkeypatch.setattr(window_cache.IdealPoints, "fit", no_fit)
    again = fit_window(data, start=START, end=END, dimension="me")
    like = str(fresh.window.roll_calls.loc[fresh.est.items_.index[-1], "symbol"])
    assert _bundle(again, like).sha256 == _bundle(fresh, like).sha256
    pd.testing.assert_frame_equal(again.est.members_, fresh.est.members_)
    # The transition shares validation's last-vote rule reads, as numbers in ACTS order (a
    # read-back of JSON's nulls as objects once made that rule's log-loss 3.6 instead of 0.34).
    pd.testing.assert_frame_equal(again.est.transitions_, fresh.est.transitions_)
    assert (again.absence, again.persistence) == (fresh.absence, fresh.persistence)
    # The fit alone, carried to another vote: read back, then the later steps run again.
    for done in window_cache.window_cache_dir().glob("*/done-*/parts.json"):
        done.unlink()
    again = fit_window(data, start=START, end=END, dimension="me")
    assert _bundle(again, like).sha256 == _bundle(fresh, like).sha256
    with pytest.raises(AssertionError, match="fitted again"):  # another window: a new fit
        fit_window(data, start=START - pd.DateOffset(years=1), end=END, dimension="me")


def test_data_of_unknown_origin_are_never_kept(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path))
    data = dataclasses.replace(load_roll_calls(data_dir), sha256=None)  # built in memory
    assert window_cache.window_key(data, window_cache.IdealPoints()) is None


def test_a_windows_text_persistence_is_fitted_once_for_every_vote_it_is_carried_to(
    tmp_path, monkeypatch, data_dir
):
    """Persistence depends on the window alone, not on the vote (a forecast's date, `sim
    validate --lead`): a fit carried to another vote reads it back; the strategic absence, which
    does depend on the vote, is carried again."""
    import sim.estimate.window as window

    monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path))
    data = load_roll_calls(data_dir)
    first = fit_window(data, start=START, end=END, dimension="me")
    assert len(list(window_cache.window_cache_dir().glob("*/persistence.json"))) == 1

    def no_fit(*args, **kwargs):
        raise AssertionError("persistence fitted again")

    monkeypatch.setattr(window, "_text_persistence", no_fit)
    later = fit_window(data, start=START, end=END, dimension="me", on=END + pd.DateOffset(years=1))
    assert later.persistence == first.persistence
    assert later.absence["participation_walk_sd"] == first.absence["participation_walk_sd"]
    se = "participation_se"
    assert (later.est.members_[se] > first.est.members_[se]).all()  # a year further on
    with pytest.raises(AssertionError, match="persistence fitted again"):  # another window
        fit_window(data, start=START - pd.DateOffset(years=1), end=END, dimension="me")


def test_a_persistence_kept_before_the_members_hold_is_fitted_again(
    tmp_path, monkeypatch, data_dir
):
    """A cache written before each member's hold on its record was fitted (issue 20, item 2)
    has no ``hold_sd``: reading it back would silently give the pooled costs, so it is refitted.
    """
    import json

    monkeypatch.setenv("SIM_CACHE_DIR", str(tmp_path))
    data = load_roll_calls(data_dir)
    start = START - pd.DateOffset(years=1)  # two sessions: pairs of votes on the same texts
    first = fit_window(data, start=start, end=END, dimension="me")
    assert "hold_sd" in first.persistence
    assert any(k.startswith("hold.") for k in first.persistence)
    for path in window_cache.window_cache_dir().glob("*/persistence.json"):
        old = {k: v for k, v in json.loads(path.read_text()).items() if "hold" not in k}
        path.write_text(json.dumps(old))
    for done in window_cache.window_cache_dir().glob("*/done-*/parts.json"):
        parts = json.loads(done.read_text())
        parts["persistence"] = {k: v for k, v in parts["persistence"].items() if "hold" not in k}
        done.write_text(json.dumps(parts))
    again = fit_window(data, start=start, end=END, dimension="me")
    assert again.persistence == first.persistence
