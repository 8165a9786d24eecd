"""Designed sweeps: SALib's designs over ranges, sensitivity indices, labelled netCDF results,
bad input refused before any point runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from sim.cli import app
from sim.io.errors import ScenarioError
from sim.run import executors
from sim.run.designs import design_from_table, make_design, parse_range
from sim.run.sensitivity import analyze
from sim.run.sweep import Sweep, grid_from_assignments, run_sweep

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
CREDIBILITY = "events.netanyahu_call.offer.credibility"
SUPPORT = "model.support_value"


def test_ranges_read_credibility_words_as_their_means():
    assert parse_range(f"{CREDIBILITY}=talks:firm") == (CREDIBILITY, (0.25, 0.9))
    assert parse_range(f"{SUPPORT}= 1 : 20") == (SUPPORT, (1.0, 20.0))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (f"{SUPPORT}=3:1", "reversed"),
        (f"{SUPPORT}=2:2", "empty"),
        (f"{SUPPORT}=1", "LOW:HIGH"),
        (f"{SUPPORT}=a:2", "numbers or"),
        ("=1:2", "LOW:HIGH"),
    ],
)
def test_bad_ranges_are_refused(text, match):
    with pytest.raises(ScenarioError, match=match):
        parse_range(text)


@pytest.mark.parametrize(
    ("kind", "n", "size"), [("grid", 3, 9), ("lhs", 5, 5), ("sobol", 8, 32), ("morris", 4, 12)]
)
def test_designs_have_salibs_sizes_stay_in_range_and_repeat_with_the_seed(kind, n, size):
    ranges = [(CREDIBILITY, (0.0, 1.0)), (SUPPORT, (1.0, 20.0))]
    design = make_design(ranges, kind, n, seed=7)
    x = design.matrix()
    assert x.shape == (size, 2)
    assert (x[:, 0] >= 0).all()
    assert (x[:, 0] <= 1).all()
    assert (x[:, 1] >= 1).all()
    assert (x[:, 1] <= 20).all()
    assert make_design(ranges, kind, n, seed=7).values == design.values


@pytest.mark.parametrize(
    ("kind", "n", "keys"),
    [("sobol", 6, 1), ("sobol", 1, 1), ("lhs", 0, 1), ("box", 8, 1), ("grid", 400, 2)],
)
def test_a_design_that_cannot_be_built_is_refused(kind, n, keys):
    ranges = [(SUPPORT, (1.0, 2.0)), (CREDIBILITY, (0.0, 1.0))][:keys]
    with pytest.raises(ScenarioError, match="sweep"):
        make_design(ranges, kind, n, seed=1)


def test_sobol_indices_find_the_key_that_matters():
    # y = 4 x0 + 0.5 x1 on the unit square: Var shares 64/65 and 1/65, no interaction.
    design = make_design([("a", (0.0, 1.0)), ("b", (0.0, 1.0))], "sobol", 512, seed=3)
    x = design.matrix()
    outputs = pd.DataFrame({"y": 4 * x[:, 0] + 0.5 * x[:, 1], "flat": np.ones(len(x))})
    table = analyze(design, outputs, seed=3)
    assert list(table["output"]) == ["y", "y"]  # a constant output has no indices
    first = table.iloc[0]
    assert first["parameter"] == "a"
    assert first["rank"] == 1
    for row, share in zip(table.itertuples(), (64 / 65, 1 / 65), strict=True):
        # the bootstrap's 95% half-width, and a floor for the estimator's own bias at N=512
        tol = 2 * max(row.S1_conf, row.ST_conf) + 0.02
        assert pytest.approx(share, abs=tol) == row.S1
        assert pytest.approx(share, abs=tol) == row.ST


def test_morris_ranks_by_mu_star():
    design = make_design([("a", (0.0, 1.0)), ("b", (0.0, 1.0))], "morris", 20, seed=3)
    x = design.matrix()
    table = analyze(design, pd.DataFrame({"y": x[:, 0] ** 2 + 0.1 * x[:, 1]}), seed=3)
    assert list(table["parameter"]) == ["a", "b"]
    assert table.iloc[1]["mu_star"] == pytest.approx(0.1, abs=1e-9)  # linear: every effect 0.1
    assert table.iloc[1]["sigma"] == pytest.approx(0.0, abs=1e-9)


def test_a_designed_sweep_writes_a_labelled_netcdf_with_intervals(tmp_path):
    from SALib import ProblemSpec

    spec = ProblemSpec({"names": [CREDIBILITY, SUPPORT], "bounds": [[0.0, 1.0], [1.0, 20.0]]})
    plan = Sweep.from_problem(ICJ, spec, design="lhs", n=3, draws=30, seed=4)
    points, members = run_sweep(plan, tmp_path)
    assert len(points) == 3
    for act in ("yes", "abstain"):
        assert (members[f"p_{act}_q05"] <= members[f"p_{act}"] + 1e-12).all()
        assert (members[f"p_{act}"] <= members[f"p_{act}_q95"] + 1e-12).all()
    with xr.open_dataset(tmp_path / "sweep.nc") as ds:
        assert ds.sizes["point"] == 3
        assert "UKR" in list(ds["member"].values)
        np.testing.assert_allclose(ds[CREDIBILITY].values, points[CREDIBILITY])
        ukr = ds["odds"].sel(member="UKR")
        np.testing.assert_allclose(ukr.sum("act"), 1.0, atol=1e-9)
        np.testing.assert_allclose(ukr.sel(act="yes"), members[members.iso3 == "UKR"]["p_yes"])
        assert (ds["odds_interval90"].sel(bound="q05") <= ds["odds"] + 1e-12).all()
        np.testing.assert_allclose(ds["p_adopted"], points["p_adopted"])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["design"]["kind"] == "lhs"
    assert "sweep.nc" in manifest["files"]


def test_a_table_of_points_may_use_credibility_words(tmp_path):
    table = pd.DataFrame({CREDIBILITY: ["talks", "firm", "0.1"]})
    plan = Sweep.from_problem(ICJ, table, draws=20)
    assert plan.points[2] == {CREDIBILITY: 0.1}
    run_sweep(plan, tmp_path)
    with xr.open_dataset(tmp_path / "sweep.nc") as ds:
        np.testing.assert_allclose(ds[CREDIBILITY].values, [0.25, 0.9, 0.1])
        assert json.loads(ds[CREDIBILITY].attrs["values"]) == ["talks", "firm", 0.1]
    table.to_csv(tmp_path / "plan.csv", index=False)
    assert design_from_table(tmp_path / "plan.csv").values == plan.design.values


def test_a_grid_of_words_is_numeric_in_the_dataset(tmp_path):
    plan = Sweep(scenario=ICJ, grid=grid_from_assignments([f"{CREDIBILITY}=0,talks"]), draws=20)
    run_sweep(plan, tmp_path)
    with xr.open_dataset(tmp_path / "sweep.nc") as ds:
        np.testing.assert_allclose(ds[CREDIBILITY].values, [0.0, 0.25])


def test_sweep_analyze_prints_ranked_indices_with_intervals(tmp_path):
    args = [
        "sweep", str(ICJ), "--design", "sobol", "--n", "4", "--draws", "10",
        "--param", f"{CREDIBILITY}=0:1", "--param", f"{SUPPORT}=1:20", "--analyze",
        "--out", str(tmp_path),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "S1" in result.output
    assert "±" in result.output
    table = pd.read_csv(tmp_path / "sensitivity.csv")
    ukr = table[table["output"] == "UKR.p_abstain"]
    assert list(ukr["rank"]) == [1, 2]
    assert (ukr["ST_conf"] >= 0).all()
    assert (tmp_path / "sensitivity.png").exists()
    again = CliRunner().invoke(app, ["sensitivity", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert pd.read_csv(tmp_path / "sensitivity.csv").equals(table)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--param", "model.suport_value=1:2"], "suport_value: unknown key"),
        (["--param", f"{SUPPORT}=5:1"], "reversed"),
        (["--param", f"{SUPPORT}=1:5", "--design", "sobol", "--n", "6"], "power of two"),
        (["--param", f"{SUPPORT}=1:5", "--design", "lhs", "--analyze"], "sobol or morris"),
        (["--param", f"{SUPPORT}=1:5", "--scheduler", "tcp://127.0.0.1:9"], "no dask scheduler"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, monkeypatch, extra, message):
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 1)
    out = tmp_path / "out"
    args = ["sweep", str(ICJ), "--n", "2", "--draws", "10", *extra, "--out", str(out)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_a_problem_spec_with_its_own_samples_is_swept_as_drawn():
    from SALib import ProblemSpec

    spec = ProblemSpec({"names": [SUPPORT], "bounds": [[1.0, 20.0]]})
    spec.sample_sobol(4, calc_second_order=False, seed=2)
    plan = Sweep.from_problem(ICJ, spec, design="sobol", n=4, draws=10)
    assert [p[SUPPORT] for p in plan.points] == [float(x) for x in spec.samples[:, 0]]
    assert plan.design.kind == "sobol"
    with pytest.raises(ScenarioError, match="say how they were drawn"):
        Sweep.from_problem(ICJ, spec, draws=10)
    with pytest.raises(ScenarioError, match="uniform"):
        Sweep.from_problem(
            ICJ, {"names": [SUPPORT], "bounds": [[1, 2]], "dists": ["norm"]}, design="lhs", n=2
        )
