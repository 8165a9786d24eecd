"""Forecasts of a future vote like an earlier one, scored on a real vote the fit never saw."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pandas as pd
import pytest

from sim.core.acts import ACTS
from sim.io.data import load_roll_calls
from sim.io.errors import DataError, ScenarioError
from sim.run.forecast import Forecaster, forecast_batch, read_batch

P = [f"p_{a}" for a in ACTS]

# FACTS.md §4: same country, same title, consecutive sessions 2011-2019 (rows: previous act),
# in ACTS order (yes, no, abstain, absent). The persistence rule analysts use.
TRANSITIONS = {
    "yes": [0.945, 0.001, 0.015, 0.040],
    "no": [0.006, 0.922, 0.054, 0.017],
    "abstain": [0.050, 0.027, 0.890, 0.033],
    "absent": [0.460, 0.011, 0.060, 0.469],
}


@pytest.fixture(scope="module")
def data(data_dir):
    return load_roll_calls(data_dir)


@pytest.fixture(scope="module")
def two_years(data):
    """One forecaster shared by the tests: its fits are cached. Two-year windows (about 45 s
    here, 70 s for four); on A/RES/76/80 its log-loss is 0.447 against persistence's 0.527."""
    return Forecaster(data, years=2)


@pytest.fixture(scope="module")
def special_committee_2021(data, two_years):
    """Forecast A/RES/76/80 (9 Dec 2021) like A/RES/75/96 (10 Dec 2020), from earlier data."""
    result = two_years.forecast("A/RES/75/96", "2021-12-09", n_draws=200, seed=1)
    votes = data.votes
    actual = votes[votes["rcid"] == 100143].set_index("iso3")["act"].astype(str)
    previous = votes[votes["rcid"] == 100052].set_index("iso3")["act"].astype(str)
    return result, actual, previous


def log_loss(probs: np.ndarray, acts: list[str]) -> float:
    idx = [ACTS.index(a) for a in acts]
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(idx)), idx], 1e-15, 1))))


@pytest.mark.slow
def test_a_forecast_gives_every_member_on_the_date_odds_that_sum_to_one(special_committee_2021):
    result, _, _ = special_committee_2021
    members = result.members
    assert len(members) == 193
    assert list(members.columns[:6]) == ["iso3", "name", *P]
    np.testing.assert_allclose(members[P].sum(axis=1), 1.0, rtol=0, atol=1e-9)


@pytest.mark.slow
def test_the_forecast_beats_uniform_and_persistence_on_a_vote_it_never_saw(special_committee_2021):
    result, actual, previous = special_committee_2021
    members = result.members.set_index("iso3").loc[actual.index]
    model = log_loss(members[P].to_numpy(), list(actual))
    uniform = np.log(4)
    persistence = log_loss(
        np.array([TRANSITIONS[previous.get(i, "absent")] for i in actual.index]), list(actual)
    )
    assert model < uniform
    assert model < persistence


@pytest.mark.slow
def test_the_forecast_uses_only_roll_calls_before_its_date(data):
    forecaster = Forecaster(data, years=2)
    _start, end = forecaster.window(datetime.date(2021, 12, 9))
    assert str(end.date()) == "2021-12-09"
    fit = forecaster.fit("me", end.date())
    assert fit.window.roll_calls["date"].max() < end


@pytest.mark.slow
def test_a_batch_writes_one_folder_per_row_and_resumes(two_years, tmp_path):
    batch = tmp_path / "batch.csv"
    batch.write_text("name,like,date\na,A/RES/75/96,2021-12-09\nb,rcid:100052,2021-12-09\n")
    rows = read_batch(batch)
    forecaster = two_years
    out = tmp_path / "out"
    forecast_batch(forecaster, rows, out, n_draws=20, seed=1)
    first = (out / "a" / "members.csv").read_bytes()
    assert (out / "b" / "members.csv").read_bytes() == first  # the same roll call twice
    assert len(forecaster._fits) == 1  # fitted once
    (out / "a" / "members.csv").write_text("kept")
    forecast_batch(forecaster, rows, out, n_draws=20, seed=1)
    assert (out / "a" / "members.csv").read_text() == "kept"  # finished rows are not redone


@pytest.mark.slow
def test_a_new_text_is_forecast_with_wider_odds(two_years, special_committee_2021):
    """--new-text: the item is uncertain around LIKE's and earlier acts are positions on another
    text, so the odds are less sure; on a vote that was in fact the same text again, that
    forecasts it worse than the same-text forecast does."""
    same, actual, _ = special_committee_2021
    new = two_years.forecast("A/RES/75/96", "2021-12-09", new_text=True, n_draws=200, seed=1)
    np.testing.assert_allclose(new.members[P].sum(axis=1), 1.0, rtol=0, atol=1e-9)
    sure_same = same.members[P].max(axis=1).mean()
    sure_new = new.members[P].max(axis=1).mean()
    assert sure_new < sure_same - 0.01
    on = actual.index
    assert log_loss(new.members.set_index("iso3").loc[on, P].to_numpy(), list(actual)) > log_loss(
        same.members.set_index("iso3").loc[on, P].to_numpy(), list(actual)
    )


def test_a_batch_row_may_say_its_vote_is_on_a_new_text(tmp_path):
    batch = tmp_path / "batch.csv"
    batch.write_text(
        "name,like,date,new_text\na,A/RES/ES-11/2,2022-10-12,true\nb,A/RES/76/80,2022-12-07,\n"
    )
    rows = read_batch(batch)
    assert [r.new_text for r in rows] == [True, False]
    batch.write_text("name,like,date,new_text\na,A/RES/ES-11/2,2022-10-12,yes\n")
    with pytest.raises(ScenarioError, match="row 2: new_text: expected true or false"):
        read_batch(batch)


def test_new_text_with_a_batch_is_refused(tmp_path, sim_cli):
    run = sim_cli("forecast", "--batch", tmp_path / "b.csv", "--out", tmp_path, "--new-text")
    assert run.returncode == 2
    assert "new_text column" in run.stderr


@pytest.mark.slow
def test_bad_batch_files_and_unknown_roll_calls_are_rejected(data, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,like,date\na,A/RES/75/96,09-12-2021\n")
    with pytest.raises(ScenarioError, match="row 2: date"):
        read_batch(bad)
    with pytest.raises(DataError, match="no roll call with symbol"):
        Forecaster(data).forecast("A/RES/99/999", "2022-12-01")
    with pytest.raises(DataError, match="must be after"):
        Forecaster(data).forecast("A/RES/75/96", "2019-01-01")


@pytest.mark.slow
def test_a_dynamic_forecast_projects_ideal_points_to_the_forecasts_session(data):
    forecaster = Forecaster(data, years=3, dimension="me", dynamic=True)
    result = forecaster.forecast("A/RES/75/96", "2021-12-09", n_draws=20, seed=1)
    np.testing.assert_allclose(result.members[P].sum(axis=1), 1.0, rtol=0, atol=1e-9)
    fit = next(iter(forecaster._fits.values()))
    members = fit.est.members_
    # projected from the last fitted session (75) to the forecast's (76): the walk adds variance
    last = fit.est.ideal_points_.xs(75, level=1)["ideal_point_se"]
    assert (members.loc[last.index, "ideal_point_se"] > last).all()


def test_a_batch_row_gives_a_like_or_a_title(tmp_path):
    batch = tmp_path / "batch.csv"
    batch.write_text(
        "name,like,title,issue,date\n"
        "a,A/RES/76/80,,,2022-12-07\n"
        'b,,"Territorial integrity of Ukraine: defending the Charter",co,2022-10-12\n'
    )
    a, b = read_batch(batch)
    assert (a.like, a.title, a.issue) == ("A/RES/76/80", "", "all")
    assert (b.like, b.issue) == ("", "co")
    assert b.title.startswith("Territorial integrity")
    for row, message in [
        ("c,A/RES/76/80,Some title,,2022-12-07", "row 2: like, title: expected one of them"),
        ("c,,,,2022-12-07", "got neither"),
        ("c,,Some title,xx,2022-12-07", "row 2: issue: expected one of all, me"),
    ]:
        batch.write_text(f"name,like,title,issue,date\n{row}\n")
        with pytest.raises(ScenarioError, match=message):
            read_batch(batch)
    batch.write_text("name,title,date,new_text\nc,Some title,2022-12-07,true\n")
    with pytest.raises(ScenarioError, match="row 2: new_text: a forecast by title"):
        read_batch(batch)
    batch.write_text("name,date\nc,2022-12-07\n")
    with pytest.raises(ScenarioError, match="like or title"):
        read_batch(batch)


def test_bad_member_codes_and_dates_are_refused_before_the_data_are_read(sim_cli):
    """Checked first, so a typo costs no data load and no fit (these run without the data)."""
    like = ("forecast", "--like", "A/RES/75/96")
    run = sim_cli(*like, "--date", "2021-12-09", "--no-vote", "XXX")
    assert run.returncode == 2
    assert "--no-vote: expected ISO3 codes of UN members on 2021-12-09; got XXX" in run.stderr
    run = sim_cli(*like, "--date", "2021-12-09", "--focal", "UKR,ZZZ")
    assert run.returncode == 2
    assert "--focal: expected ISO3 codes of UN members on 2021-12-09; got ZZZ" in run.stderr
    run = sim_cli(*like, "--date", "12/9/2021x")
    assert run.returncode == 2
    assert "--date: expected a date, YYYY-MM-DD; got '12/9/2021x'" in run.stderr


@pytest.mark.slow
def test_members_without_a_vote_are_absent_and_the_others_unchanged(two_years):
    """MODEL.md §3: a member that has lost its vote is absent with probability 1; the forecaster
    names them (Venezuela, in arrears from January 2022, FACTS.md §5)."""
    plain = two_years.forecast("A/RES/75/96", "2021-12-09", n_draws=50, seed=3).members
    barred = two_years.forecast(
        "A/RES/75/96", "2021-12-09", n_draws=50, seed=3, no_vote=("ven",)
    ).members
    plain, barred = plain.set_index("iso3"), barred.set_index("iso3")
    assert barred.loc["VEN", "p_absent"] == 1.0
    assert plain.loc["VEN", "p_absent"] < 0.5
    others = plain.index != "VEN"
    pd.testing.assert_frame_equal(plain.loc[others, P], barred.loc[others, P])


def test_like_and_title_together_are_refused(tmp_path, sim_cli):
    run = sim_cli("forecast", "--like", "A/RES/75/96", "--title", "x", "--date", "2021-12-09")
    assert run.returncode == 2
    assert "--like, --title: give one of them" in run.stderr


def test_a_title_is_found_however_it_was_copied(data):
    """The UN library's form of a title (its " : resolution / adopted by ..." suffix), another
    case, a final full stop, other dashes and quotes: all find the text's last vote. A title
    that differs in a word is another text."""
    find = Forecaster(data, years=2).same_text  # no fit: a lookup in the roll calls
    title = str(data.roll_calls.loc[100052, "title"])
    for copy in (
        f"{title} : resolution / adopted by the General Assembly",
        f"{title.upper()}.",
        title.replace(" ", "  ").replace("Israeli Practices", "Israeli\u2014\u201cPractices\u201d"),
    ):
        assert find(copy, "2021-12-09") == 100052, copy
    assert find(title, "2020-12-10") != 100052  # only votes before the date
    assert find(title + " and its environs", "2021-12-09") is None


@pytest.mark.slow
def test_a_title_voted_before_is_forecast_as_that_texts_next_vote(data, two_years):
    """The title of A/RES/75/96 (rcid 100052) on the date of its 2021 successor: the same
    forecast as --like A/RES/75/96, byte for byte."""
    title = str(data.roll_calls.loc[100052, "title"])
    assert two_years.same_text(title.upper() + "  ", "2021-12-09") == 100052
    by_title = two_years.forecast_title(title, "2021-12-09", n_draws=50, seed=3)
    by_like = two_years.forecast("A/RES/75/96", "2021-12-09", n_draws=50, seed=3)
    assert by_title.members.equals(by_like.members)


@pytest.mark.slow
def test_a_new_title_mixes_earlier_first_votes_as_validation_scores_them(data, two_years):
    """A title never voted: each draw's item comes from the window's first votes, weighted by
    title likeness, each member's act on it its previous act on another text; the members'
    odds follow sim.validate's predictive of a new text with the tremble, each member's
    position realigned on the text's group as validation does it (the replay also draws ideal
    points, so they agree closely, not exactly)."""
    from sim.core.tremble import apply_tremble
    from sim.estimate.ideal_points import normalise_text
    from sim.estimate.titles import first_votes, new_text_odds, new_texts

    title = "Human rights of Rohingya Muslims and other minorities"
    date = datetime.date(2021, 12, 9)
    assert two_years.same_text(title, date) is None
    result = two_years.forecast_title(title, date, n_draws=2000, seed=5)
    members = result.members.set_index("iso3")
    np.testing.assert_allclose(members[P].sum(axis=1), 1.0, rtol=0, atol=1e-9)
    nearest = result.summary()["item"]["by_title"]["nearest"]
    assert nearest[0]["symbol"] == "A/RES/74/246"  # "Situation of human rights of Rohingya..."
    assert nearest[0]["weight"] > 0.3
    assert [n["weight"] for n in nearest] == sorted((n["weight"] for n in nearest), reverse=True)
    assert any("A/RES/74/246" in note for note in result.setup.notes)
    rc = data.roll_calls
    titles = normalise_text(rc["title"])
    fit = two_years.fit("all", date)
    texts = new_texts(fit, rc, first_votes(rc, titles), titles)
    eps, base = result.setup.tremble
    realigned = two_years.realignment(fit).moved_fit(fit, "all")  # as validation moves them
    odds = new_text_odds(realigned, texts.weights("all", title), date)
    expected = apply_tremble(odds.reindex(members.index).to_numpy(), eps=eps, base=base)
    gap = np.abs(members[P].to_numpy() - expected)
    assert gap.mean() < 0.02
    # The title decides, and the members' acts on the texts it picks: a plain average over
    # the window's first votes, or the same mixture without those acts, is further off.
    plain = apply_tremble(texts.groups["all"][1].mean(axis=0), eps=eps, base=base)
    assert np.abs(plain - expected).mean() > 2 * gap.mean()
    no_acts = apply_tremble(texts.odds("all", title).reindex(members.index).to_numpy(),
                            eps=eps, base=base)  # fmt: skip
    assert np.abs(no_acts - expected).mean() > 2 * gap.mean()


@pytest.mark.slow
def test_a_mixture_of_one_text_replays_exactly_like_that_text(data, two_years):
    """The per-draw items and previous acts of a title mixture go through the same arithmetic
    as one text: a mixture with all its weight on one roll call gives the replay of a new text
    like it, members' acts on it read as positions on another text."""
    from sim.estimate.window import bundle_from_fit, title_item
    from sim.io.bundles import bundle_from_frames
    from sim.io.scenario import parse_scenario
    from sim.run.forecast import _title_scenario_toml
    from sim.run.replay import replay

    date = datetime.date(2021, 12, 9)
    fit = two_years.fit("all", date)
    mixture = title_item(fit, data, "The right to food")
    j = int(np.argmax(mixture["weight"]))
    one = {
        k: (v[j : j + 1] if isinstance(v, list) and k != "members" else v)
        for k, v in mixture.items()
    }
    one["weight"] = [1.0]
    toml = _title_scenario_toml("The right to food", date, "all", "all", 2)
    mixed = parse_scenario(toml)
    ref = f"rcid:{one['rcid'][0]}"
    previous = f'[previous]\nlike = "{ref}"\nsame_text = false\nsource = "test"\n\n'
    plain = parse_scenario(
        toml.replace("by_title = true", f'like = "{ref}"').replace(
            "[variants.", previous + "[variants.", 1
        )
    )
    where = dict(name="forecast", where="test", data_sha256=None)
    b_mix = bundle_from_frames(
        *bundle_from_fit(fit, like=None, by_title=one, previous=None, **where)
    )
    b_one = bundle_from_frames(*bundle_from_fit(fit, like=ref, previous=ref, **where))
    r_mix = replay(mixed, n_draws=40, seed=2, calibration=b_mix)
    r_one = replay(plain, n_draws=40, seed=2, calibration=b_one)
    np.testing.assert_allclose(r_mix.members[P], r_one.members[P], rtol=0, atol=1e-12)
    for act in ACTS:
        np.testing.assert_allclose(
            r_mix.tally.marginal(act), r_one.tally.marginal(act), rtol=0, atol=1e-12
        )
    assert abs(r_mix.tally.prob_pass() - r_one.tally.prob_pass()) < 1e-12


@pytest.mark.slow
def test_a_batch_forecasts_rows_by_title(two_years, tmp_path, monkeypatch):
    import sim.estimate.titles as titles

    batch = tmp_path / "batch.csv"
    batch.write_text(
        "name,title,date\nnew,Human rights of Rohingya Muslims and other minorities,2021-12-09\n"
        "other,Nuclear disarmament verification and trust,2021-12-09\n"
    )
    # The window's first votes' odds and title weights are computed once per fit for the whole
    # batch (the forecasts' fit, and the tremble's a year earlier), not once per title.
    computed = []
    real = titles._new_texts
    monkeypatch.setattr(titles, "_new_texts", lambda *a: computed.append(id(a[0])) or real(*a))
    out = tmp_path / "out"
    forecast_batch(two_years, read_batch(batch), out, n_draws=20, seed=1)
    summary = json.loads((out / "new" / "summary.json").read_text())
    assert summary["item"]["by_title"]["nearest"][0]["symbol"] == "A/RES/74/246"
    assert (out / "other" / "summary.json").is_file()
    assert len(computed) == len(set(computed))


def test_an_unknown_focal_code_fails_before_the_fit(data_dir, tmp_path, sim_cli):
    out = tmp_path / "out"
    run = sim_cli("forecast", "--title", "Some new text", "--date", "2022-11-14",
                  "--focal", "ukr,XXX", "--data-dir", data_dir, "--out", out)  # fmt: skip
    assert run.returncode == 2
    assert "--focal: expected ISO3 codes of UN members on 2022-11-14; got XXX" in run.stderr
    assert not out.exists()


@pytest.mark.slow
def test_focal_members_are_listed_in_the_summary(two_years):
    result = two_years.forecast("A/RES/75/96", "2021-12-09", n_draws=20, seed=1,
                                focal=["ukr", "ISR"])  # fmt: skip
    assert list(result.summary()["focal"]) == ["UKR", "ISR"]


@pytest.mark.slow
def test_realignment_moves_the_forecast_by_each_members_offset_on_the_texts_group(
    two_years, special_committee_2021
):
    """sim forecast realigns by default, as sim validate scores it: each member's ideal point on
    the text's issue group moves by its offset at the window's end (and its sd widens by the
    offset's); --no-realign gives the window's one position per member."""
    import dataclasses

    realigned, _, _ = special_committee_2021
    plain_forecaster = dataclasses.replace(two_years, realign=False)  # the same cached fits
    plain = plain_forecaster.forecast("A/RES/75/96", "2021-12-09", n_draws=200, seed=1)
    fit = two_years.fit("all", datetime.date(2021, 12, 9))
    moved = two_years.realignment(fit)
    assert moved.step_sd["all"] > 0 or moved.start_sd["all"] > 0  # this window chose a walk
    members = fit.est.members_[["ideal_point", "ideal_point_se"]]
    table = two_years.realigned(fit, members, "all")
    offset = moved.offset["all"].reindex(members.index).fillna(0.0)
    np.testing.assert_allclose(table["ideal_point"] - members["ideal_point"], offset, atol=1e-12)
    assert (table["ideal_point_se"] >= members["ideal_point_se"]).all()
    assert plain_forecaster.realigned(fit, members, "all") is members
    a = realigned.members.set_index("iso3")[P]
    b = plain.members.set_index("iso3")[P]
    assert (a - b).abs().to_numpy().max() > 0.05
