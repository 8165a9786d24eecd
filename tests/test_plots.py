"""Figures: sweeps on a numeric axis, one house style, the same PNG bytes on a rerun."""

from __future__ import annotations

import zlib
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest

from sim.core.acts import ACTS
from sim.io import plots
from sim.io.scenario import CREDIBILITY_LEVELS
from sim.run.replay import replay

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"


def test_credibility_words_sit_at_their_prior_means_on_a_sweep_axis():
    x, labels = plots.sweep_axis([0.0, "talks", 0.5, "firm", "none"])
    talks, firm = CREDIBILITY_LEVELS["talks"].mean(), CREDIBILITY_LEVELS["firm"].mean()
    np.testing.assert_allclose(x, [0.0, talks, 0.5, firm, 0.0])
    assert labels[1] == f"talks ({talks:g})"
    # A prior table (as the sweep's tables hold it: compact JSON) sits at its mean.
    x, _ = plots.sweep_axis(['{"a": 2, "b": 6, "dist": "beta"}', 1])
    np.testing.assert_allclose(x, [0.25, 1.0])
    # Something without a number leaves the axis categorical.
    assert plots.sweep_axis(["talks", "air_defence"]) is None
    assert plots.sweep_axis([True, False]) is None


def test_every_figure_function_draws_in_the_house_style(monkeypatch):
    seen = {}

    def spy(*args, **kwargs):
        seen["font.size"] = mpl.rcParams["font.size"]
        seen["spines"] = mpl.rcParams["axes.spines.top"]

    drawn = plots._styled(spy)
    drawn()
    assert seen == {"font.size": plots.STYLE["font.size"], "spines": False}
    assert mpl.rcParams["axes.spines.top"] is True  # restored outside


def _sweep_tables(values, second=None):
    rows, points = [], []
    combos = [(v, w) for v in values for w in (second or [None])]
    for i, (v, w) in enumerate(combos):
        x = plots.sweep_axis([v])[0][0]
        p = np.array([0.8 - 0.7 * x, 0.01, 0.15 + 0.7 * x, 0.04])
        values_ = {"k": v} | ({"m": w} if second else {})
        row = {"point": i, **values_, "iso3": "UKR"}
        for j, act in enumerate(ACTS):
            row |= {f"p_{act}": p[j], f"p_{act}_q05": p[j] * 0.8, f"p_{act}_q95": p[j] * 1.1}
        rows.append(row)
        points.append({"point": i, **values_, "p_adopted": 1 - 0.1 * x})
    return pd.DataFrame(points), pd.DataFrame(rows)


def _png_text_chunks(data: bytes) -> list[bytes]:
    """The keys of a PNG's text chunks (tEXt, zTXt, iTXt)."""
    keys, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            keys.append(body.split(b"\0", 1)[0])
        assert zlib.crc32(kind + body) == int.from_bytes(data[pos + 8 + length : pos + 12 + length])
        pos += 12 + length
    return keys


def test_sweep_figures_are_the_same_bytes_on_a_rerun_and_carry_no_software_or_date(tmp_path):
    points, members = _sweep_tables([0.0, "talks", 0.5, "firm", 1.0])
    grid_points, grid_members = _sweep_tables(["firm", 0.0, "talks"], second=[2.0, 6.0])
    for run in ("a", "b"):
        plots.plot_sweep(points, members, "k", "UKR", tmp_path / run / "sweep.png")
        plots.plot_sweep_heatmap(
            grid_points, grid_members, ["k", "m"], "UKR", tmp_path / run / "heat.png"
        )
    for name in ("sweep.png", "heat.png"):
        a = (tmp_path / "a" / name).read_bytes()
        assert a == (tmp_path / "b" / name).read_bytes(), name
        assert not {b"Software", b"Creation Time", b"Date"} & set(_png_text_chunks(a)), name


@pytest.mark.usefixtures("data_dir")
def test_replay_figures_are_the_same_bytes_on_a_rerun(tmp_path):
    result = replay(ICJ, n_draws=40, seed=11)
    for run in ("a", "b"):
        plots.plot_member_odds(result, tmp_path / run / "odds.png")
        plots.plot_tally(result, tmp_path / run / "tally.png")
    for name in ("odds.png", "tally.png"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_the_margin_figure_splits_at_the_rules_threshold():
    margins = np.arange(-4, 5)
    pmf = np.full(len(margins), 1 / len(margins))
    fig = plots.margin_figure(margins, pmf, min_margin=1, no_weight=1, p_adopted=4 / 9)
    ax = fig.axes[0]
    adopted, rejected = ax.containers
    assert [round(b.get_x() + b.get_width() / 2) for b in adopted] == [1, 2, 3, 4]
    assert [round(b.get_x() + b.get_width() / 2) for b in rejected] == [-4, -3, -2, -1, 0]
    assert ax.lines[0].get_xdata()[0] == pytest.approx(0.5)  # the threshold, between 0 and 1
