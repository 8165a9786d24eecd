"""One contract for the results a user gets (replay, bargain, target, buy, negotiate).

Each is checked the same way: it is a :class:`sim.io.results.Result`; its table is a frame with a
row per member or offer; its summary is JSON; its manifest names the seed, the draws and the
scenario's hash; ``write`` puts every file the manifest lists into the folder, and a second run
with the same seed writes the same bytes; its ``repr`` is one short line, its text summary
starts with it, and its HTML form (notebooks) holds both and the head of its table.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.io.results import Result

ICJ = "scenarios/icj_referral_2022.toml"
JERUSALEM = "scenarios/jerusalem_2017.toml"

RUNS: dict[str, Callable[[], Result]] = {
    "replay": lambda: sim.replay(ICJ, n_draws=60, seed=3),
    "bargain": lambda: sim.price_offer(
        ICJ, event="netanyahu_call", target="UKR", n_draws=60, seed=3
    ),
    "target": lambda: sim.plan_targets(ICJ, event="lapid_letters", calls=5, n_draws=60, seed=3),
    "buy": lambda: sim.buy_votes(JERUSALEM, event="trump_threat", budget=2.0, n_draws=60, seed=3),
    "negotiate": lambda: sim.negotiate(ICJ, rounds=4, n_draws=60, seed=3),
}


@pytest.fixture(scope="module", params=sorted(RUNS))
def made(request: pytest.FixtureRequest) -> tuple[Result, Result]:
    run = RUNS[request.param]
    return run(), run()


def test_each_result_answers_the_one_protocol(made: tuple[Result, Result]) -> None:
    result, _ = made
    assert isinstance(result, Result)
    table = result.table()
    assert isinstance(table, pd.DataFrame)
    assert len(table) > 0
    json.dumps(result.summary())
    manifest = result.manifest()
    assert manifest["seed"] == 3
    assert manifest["draws"] == 60
    assert len(manifest["scenario"]["sha256"]) == 64


def test_each_result_writes_what_its_manifest_lists_and_the_same_bytes_twice(
    made: tuple[Result, Result], tmp_path: Path
) -> None:
    first, second = made
    a, b = Path(first.write(tmp_path / "a")), Path(second.write(tmp_path / "b"))
    listed = json.loads((a / "manifest.json").read_text())["files"]
    assert sorted(p.name for p in a.iterdir()) == sorted([*listed, "manifest.json"])
    for name in [*listed, "manifest.json"]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_each_result_describes_itself_in_a_line(made: tuple[Result, Result]) -> None:
    result, _ = made
    line = repr(result)
    assert "\n" not in line
    assert line.startswith("<")
    assert type(result).__name__ in line
    text = result.summary_text()
    assert text.splitlines()[0] == line
    assert len(text.splitlines()) > 1


def test_each_result_shows_itself_in_a_notebook(made: tuple[Result, Result]) -> None:
    result, _ = made
    page = result._repr_html_()  # type: ignore[attr-defined]
    assert page.startswith("<pre>")
    assert html.escape(repr(result)) in page
    assert "<table" in page  # the head of its table
