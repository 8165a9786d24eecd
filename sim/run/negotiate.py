"""Negotiate an episode: the scenario's patrons choose their own asks and offers, round by round.

:func:`negotiate` prepares the episode as a replay does (:func:`sim.run.replay.prepare`: the same
draws for the same seed), then runs :class:`sim.model.assembly.AssemblyModel` in ``negotiate``
mode: the patrons of the scenario's ``[negotiation]`` section move in turn each round, from the
first cited ask to the vote, the cited asks arriving on their dates as a floor
(:mod:`sim.model.patrons`). :class:`Negotiation` holds the path (who asked whom, what was offered,
the counter-asks and the answers, the odds after each round), the members' odds and the exact
tally, and writes the replay's files plus ``trades.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.acts import ACTS
from sim.core.seeds import DEFAULT_SEED
from sim.core.tally import Tally
from sim.io.bundles import Bundle
from sim.io.results import csv_text, describe, describe_html, json_text, tally_text, write_run
from sim.io.scenario import Scenario, load_scenario
from sim.model.assembly import AssemblyModel
from sim.run.replay import TALLY_WORKERS, ReplayResult, prepare

__all__ = ["TRADE_COLUMNS", "Negotiation", "negotiate"]

#: The columns of ``trades.csv``, one row per exchange.
TRADE_COLUMNS = (
    "round", "date", "patron", "member", "move", "ask", "offer", "credibility", "spend", "cost",
    *(f"p_{a}_before" for a in ACTS), *(f"p_{a}_after" for a in ACTS),
)  # fmt: skip


@dataclass(frozen=True)
class Negotiation:
    """A negotiated episode: the replay's odds and tally after the patrons' own moves.

    Attributes
    ----------
    replay : ReplayResult
        The members' odds, the exact tally and the rounds, as a replay labels them.
    trades : DataFrame
        One row per exchange (:data:`TRADE_COLUMNS`): ``move`` is ``offer`` (an offer the
        member did not ask for, at most talks), ``counter_ask`` (the member asks for the
        support), or the patron's answer to it a round later: ``accept`` (a firm commitment),
        ``talks`` (raised, not firm) or ``refuse``.
    spent : dict
        Per patron and kind, what it committed (firm commitments of a member's whole need),
        its budget and its cost ratio.
    rounds : int
    budget, cost : float or None
        Overrides of every budget or cost ratio, if any.
    """

    replay: ReplayResult
    trades: pd.DataFrame
    spent: dict[str, dict[str, dict[str, float]]]
    rounds: int
    budget: float | None = None
    cost: float | None = None

    @property
    def setup(self) -> Any:
        """The prepared episode (:class:`sim.model.setup.Setup`)."""
        return self.replay.setup

    @property
    def tally(self) -> Tally:
        """The exact tally after the negotiation."""
        return self.replay.tally

    @property
    def members(self) -> pd.DataFrame:
        """Every member's odds with their intervals, as in a replay's ``members.csv``."""
        return self.replay.members

    def table(self) -> pd.DataFrame:
        """Every member's odds after the negotiation (:attr:`members`)."""
        return self.members

    def __repr__(self) -> str:
        """One line: scenario, variant, rounds, exchanges, expected tally, P(adopted)."""
        s = self.setup
        return (f"<Negotiation {s.scenario.name}/{s.variant}: {self.rounds} rounds, "
                f"{len(self.trades)} exchanges, {s.n_draws} draws, "
                f"{tally_text(self.tally)}>")  # fmt: skip

    def path(self) -> list[str]:
        """The negotiation as lines of text: each exchange with the member's odds after it."""
        lines = []
        for row in self.trades.to_dict("records"):
            odds = ", ".join(f"{a} {row[f'p_{a}_after']:.3f}" for a in ACTS)
            who = f"round {row['round']} ({row['date']}): "
            match row["move"]:
                case "counter_ask":
                    lines.append(f"{who}{row['member']} asks {row['patron']} for {row['offer']}")
                case "offer":
                    lines.append(
                        f"{who}{row['patron']} asks {row['member']} for {row['ask']}, offering "
                        f"{row['offer']} at credibility {row['credibility']:.2f} (cost "
                        f"{row['cost']:.3g}); {row['member']} now {odds}"
                    )
                case move:
                    lines.append(
                        f"{who}{row['patron']} answers {row['member']}'s counter-ask: {move} "
                        f"({row['offer']} at credibility {row['credibility']:.2f}, cost "
                        f"{row['cost']:.3g}); {row['member']} now {odds}"
                    )
        return lines

    def _repr_html_(self) -> str:
        """The text summary and the head of the table, for notebooks."""
        return describe_html(self, self.summary_text())

    def summary_text(self) -> str:
        """The path, the focal members' odds and the tally (as ``sim negotiate`` prints)."""
        lines = self.path() or ["no patron made an offer"]
        lines += self.replay.summary_text().splitlines()[1:]
        return describe(self, repr(self), [line.strip() for line in lines])

    def summary(self) -> dict[str, Any]:
        """The replay's summary with the negotiation: rounds, exchanges, spending."""
        out = self.replay.summary()
        out["mode"] = "negotiate"
        out["negotiation"] = {
            "rounds": self.rounds,
            "exchanges": len(self.trades),
            "spent": self.spent,
            "budget_override": self.budget,
            "cost_override": self.cost,
        }
        return out

    def manifest(self) -> dict[str, Any]:
        """The replay's provenance plus the mode, rounds and overrides."""
        return {
            **self.replay.manifest(),
            "mode": "negotiate",
            "rounds": self.rounds,
            "budget": self.budget,
            "cost": self.cost,
        }

    def write(self, out_dir: str | Path, *, plots: bool = True) -> Path:
        """Write a replay's files (``members.csv``, ``tally.csv``, ``rounds.csv``,
        ``summary.json``, plots) and ``trades.csv`` into `out_dir`, atomically, manifest last.
        """
        tables = {k: v for k, v in self.replay.texts().items() if k != "summary.json"}
        texts = {
            **tables,
            "trades.csv": csv_text(self.trades),
            "summary.json": json_text(self.summary()),
        }
        figures = self.replay.figures() if plots else {}
        return write_run(Path(out_dir), texts, self.manifest(), figures=figures)


def negotiate(
    scenario: Scenario | str | Path,
    *,
    variant: str | None = None,
    rounds: int | None = None,
    n_draws: int = 1000,
    seed: int = DEFAULT_SEED,
    budget: float | None = None,
    cost: float | None = None,
    calibration: Path | Bundle | None = None,
) -> Negotiation:
    """Let the scenario's ``[negotiation]`` patrons choose their asks and offers (module
    docstring).

    Parameters
    ----------
    scenario : Scenario or path
        With a ``[negotiation]`` section.
    variant : str, optional
        Whose cited asks are the floor (default: the scenario's default).
    rounds : int, optional
        Rounds from the first cited ask to the vote (default: the section's ``rounds``).
    n_draws, seed, calibration
        As in :func:`sim.run.replay.prepare` (the same seed gives the replay's draws).
    budget, cost : float, optional
        Replace every patron's budget of every kind, or every cost ratio.

    Raises
    ------
    ScenarioError
        If the scenario has no ``[negotiation]`` section (or a patron no acts to ask for).

    Examples
    --------
    Israel offers talk, Zelensky asks for air defence, Israel answers a round later:

    >>> n = negotiate("scenarios/icj_referral_2022.toml", n_draws=50, seed=1)
    >>> list(n.trades["move"])
    ['offer', 'counter_ask', 'talks']
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    setup = prepare(scenario, variant=variant, n_draws=n_draws, seed=seed, calibration=calibration)
    model = AssemblyModel(
        setup, rng=np.random.default_rng(np.random.SeedSequence(seed)), mode="negotiate",
        rounds=rounds, budget=budget, cost=cost,
    )  # fmt: skip
    model.run()
    tally = Tally.from_probabilities(
        model.odds, rule=setup.scenario.spec.resolution.rule, workers=TALLY_WORKERS, copy=False
    )
    frame = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    replayed = ReplayResult(
        setup=setup, odds=tally.probabilities, tally=tally, rounds=frame,
        counter_asks=tuple(model.counter_asks),
    )  # fmt: skip
    spent = {
        p.principal: {
            s.kind: {
                "spent": p.spent(s.kind),
                "budget": s.budget,
                "cost_ratio": s.cost_ratio,
                "third_party": s.third_party,
            }
            for s in p.spec.support
        }
        for p in model.patrons
    }
    return Negotiation(
        replay=replayed, trades=pd.DataFrame(model.trades, columns=list(TRADE_COLUMNS)),
        spent=spent, rounds=len(model.round_dates), budget=budget, cost=cost,
    )  # fmt: skip
