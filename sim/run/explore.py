"""``sim explore``: the analyst's workbench in the browser, a Mesa ``SolaraViz`` page.

The page shows one scenario's :class:`sim.run.workbench.ExploreModel` (the
:class:`sim.model.assembly.AssemblyModel` under the sliders' settings) with Mesa's
``SolaraViz``: its *Step* button plays the timeline round by round (each ask arrives on its date;
the last round is the vote), *Reset* goes back to before the first ask. In the sidebar: the
variant, the member to follow, and sliders for the offer's credibility and size, the value of
support and the principal's weight (the standing value of the relationship on its asks). The
panels: the followed member's four odds with their 5-95% intervals, the exact distribution of the
margin against the rule's threshold with P(adopted), every member's odds coloured by UN regional
group, the timeline so far and the followed member's odds round by round (Mesa's
``make_plot_component``).

A slider move rebuilds only the asks of the prepared episode and replays to the same round
(:class:`sim.run.workbench.Workbench`): about a quarter of a second at 1,000 draws. Each page
lists the changes to the scenario file its settings amount to, so ``sim replay`` on the changed
file gives the same odds.

Needs the ``explore`` extra (``pip install 'sim[explore]'``: solara and Mesa's visualisation
dependencies). :func:`serve` runs the page on a loopback address; the scenario and draws reach
the page through ``SIM_EXPLORE_*`` environment variables, so that Solara's server, which imports
this module by name, finds them.
"""

from __future__ import annotations

import os

os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # no calls home

import functools
import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import solara
import uvicorn
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from sim.core.acts import ACTS
from sim.io.errors import DataError, ScenarioError
from sim.io.plots import COLOURS, margin_figure, odds_figure, strip_figure
from sim.run.workbench import ExploreModel, Settings, View, Workbench

__all__ = [
    "Page",
    "PageModel",
    "Panels",
    "Session",
    "SettingsPanel",
    "asset_cache",
    "cdn_packages",
    "serve",
]

#: Environment variables that carry :func:`serve`'s arguments to the page.
ENV = {
    "scenario": "SIM_EXPLORE_SCENARIO",
    "variant": "SIM_EXPLORE_VARIANT",
    "draws": "SIM_EXPLORE_DRAWS",
    "seed": "SIM_EXPLORE_SEED",
    "calibration": "SIM_EXPLORE_CALIBRATION",
}
DEFAULT_SCENARIO = "scenarios/icj_referral_2022.toml"


@functools.cache
def _workbench(scenario: str, draws: int, seed: int, calibration: str) -> Workbench:
    """One workbench per scenario and draws, shared by every browser tab (read-only)."""
    return Workbench(
        scenario, n_draws=draws, seed=seed, calibration=Path(calibration) if calibration else None
    )


def _configured(scenario: str | Path | None = None) -> tuple[Workbench, str | None]:
    """The workbench :func:`serve` asked for (or, with the same draws, seed and calibration,
    that of `scenario`), and the variant asked for (None: the default).
    """
    wb = _workbench(
        str(scenario or os.environ.get(ENV["scenario"], DEFAULT_SCENARIO)),
        int(os.environ.get(ENV["draws"], "1000")),
        int(os.environ.get(ENV["seed"], "20221230")),
        os.environ.get(ENV["calibration"], ""),
    )
    return wb, None if scenario else (os.environ.get(ENV["variant"]) or None)


def _scenario_files() -> dict[str, Path]:
    """The scenario files the page offers: those beside the one :func:`serve` was given."""
    given = Path(os.environ.get(ENV["scenario"], DEFAULT_SCENARIO))
    files = {p.stem: p for p in sorted(given.parent.glob("*.toml"))}
    files.setdefault(given.stem, given)
    return files


class Session:
    """One browser tab's state: the workbench and the current settings.

    Parameters
    ----------
    workbench : Workbench
    settings : Settings
    """

    def __init__(self, workbench: Workbench, settings: Settings) -> None:
        self.workbench, self.settings = workbench, settings

    def view(self, model: PageModel) -> View:
        """What `model` shows after the rounds it has played (computed once per round: the
        panels redraw on every update).
        """
        if model.steps not in model.views:
            model.views[model.steps] = model.workbench.view(model)
        return model.views[model.steps]


class PageModel(ExploreModel):
    """The model ``SolaraViz`` rebuilds on *Reset*: the session's current settings, before the
    first ask.

    Parameters
    ----------
    session : Session
    rng : optional
        As :class:`sim.run.workbench.ExploreModel`.
    """

    def __init__(self, session: Session, rng: Any = None) -> None:
        super().__init__(session.workbench, session.settings, rng=rng)
        self.session = session
        self.views: dict[int, View] = {}  # by rounds played


# ------------------------------------------------------------------------- the panels
def _focal_odds(model: PageModel) -> None:
    """The followed member's four odds with intervals (a table the tests read, and a figure)."""
    session = model.session
    view = session.view(model)
    iso3 = session.settings.focal
    row = view.members.loc[iso3]
    cells = "".join(
        f'<td class="sim-odds" data-act="{act}" style="color:{COLOURS[act]};font-weight:bold">'
        f"{row[f'p_{act}']:.3f}</td>"
        f'<td class="sim-interval" style="white-space:nowrap;font-size:80%;color:#666">'
        f"{row[f'p_{act}_q05']:.3f}-{row[f'p_{act}_q95']:.3f}</td>"
        for act in ACTS
    )
    heads = "".join(f"<th colspan=2>{act}</th>" for act in ACTS)
    where = "before the first ask" if view.step == 0 else f"after round {view.step} ({view.date})"
    table = (
        f'<div id="sim-focal" data-iso3="{iso3}" data-step="{view.step}">'
        f"<b>{html.escape(str(row['name']))} ({iso3})</b>, {where}: probability of each act "
        f"(mean over {model.setup.n_draws} draws, 5-95%)"
        f"<table><tr>{heads}</tr><tr>{cells}</tr></table>"
        f'<div>P(adopted) = <span id="sim-p-adopted">{view.p_adopted:.3f}</span></div></div>'
    )
    with solara.Column():
        solara.HTML(tag="div", unsafe_innerHTML=table)
        solara.FigureMatplotlib(odds_figure(view.members, [iso3]), format="png")


def _tally(model: PageModel) -> None:
    """The margin's exact distribution against the rule's threshold, and the expected tally."""
    view = model.session.view(model)
    means = view.tally.mean()
    text = ", ".join(
        f"{act} {means[act]:.1f} ({lo}-{hi})"
        for act in ACTS
        for lo, hi in [view.tally.interval(act)]
    )
    with solara.Column():
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<b>Expected tally</b> (90% interval): {text}; "
            f"rule: {view.rule.name.replace('_', ' ')}",
        )
        solara.FigureMatplotlib(
            margin_figure(
                view.margins, view.margin_pmf, min_margin=view.rule.min_margin,
                no_weight=view.rule.no_weight, p_adopted=view.p_adopted,
            ),
            format="png",
        )  # fmt: skip


def _strip(model: PageModel) -> None:
    """Every member's odds, coloured by UN regional group."""
    view = model.session.view(model)
    solara.FigureMatplotlib(
        strip_figure(view.members, focal=model.session.settings.focal), format="png"
    )


def _timeline(model: PageModel) -> None:
    """The rounds: dates, the asks that arrived on each, where the model stands."""
    setup = model.setup
    lines = []
    for k, date in enumerate(model.round_dates, start=1):  # an <ol> numbers the rounds
        asks = [a for a in setup.asks if a.date == date]
        what = "; ".join(
            f"{a.event_id} ({a.principal} to {len(a.targets)} member"
            f"{'s' if len(a.targets) > 1 else ''}"
            f"{', with ' + a.offer_kind if a.offer_kind else ''})"
            for a in asks
        )
        if k == len(model.round_dates):
            what = (what + "; " if what else "") + "the vote"
        item = f"{date}: {html.escape(what)}"
        lines.append(f"<li><b>{item}</b> (now)</li>" if k == model.steps else f"<li>{item}</li>")
    changes = model.session.workbench.overrides(model.session.settings)
    file_lines = "".join(
        f"<li><code>{html.escape(f'{k} = {v!r}')}</code></li>" for k, v in changes.items()
    )
    solara.HTML(
        tag="div",
        unsafe_innerHTML="<b>Timeline</b> (Step plays one round, Reset goes back to before the "
        f"first ask)<ol>{''.join(lines)}</ol><b>Changes to the scenario file</b> these settings "
        f"amount to:<ul>{file_lines or '<li>none: the file as written</li>'}</ul>",
    )


# ------------------------------------------------------------------------- the page
@solara.component
def SettingsPanel(  # noqa: N802 (Solara components are capitalised)
    session: Session, model: solara.Reactive[PageModel], settings: solara.Reactive[Settings]
) -> None:
    """The sidebar: variant, member to follow, and the sliders."""
    wb = session.workbench
    s = settings.value

    error = solara.use_reactive("")

    def apply(new: Settings, rounds: int | None = -1) -> None:
        """Rebuild the model under `new`, at the same round (-1) or at the vote (None)."""
        rounds = model.value.steps if rounds == -1 else rounds
        session.settings = new
        settings.set(new)
        model.set(_model(session, new, rounds))

    def set_variant(variant: str) -> None:
        apply(wb.defaults(variant).but(focal=s.focal))

    def set_scenario(stem: str) -> None:
        try:
            other, _ = _configured(_scenario_files()[stem])
            settings_ = other.defaults()
        except (ScenarioError, DataError) as exc:
            error.set(str(exc))
            return
        error.set("")
        session.workbench = other
        apply(settings_, rounds=None)

    setup = wb.setup(s.variant)
    with solara.Card("Scenario"):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f"<b>{html.escape(wb.scenario.spec.title)}</b> ({wb.scenario.name})",
        )
        files = _scenario_files()
        solara.Select(
            "scenario", value=Path(str(wb.scenario.path)).stem, values=list(files),
            on_value=set_scenario,
        )  # fmt: skip
        if error.value:
            solara.Error(error.value)
        solara.Select("variant", value=s.variant, values=list(wb.variants), on_value=set_variant)
        solara.Select(
            "member to follow", value=s.focal, values=list(setup.focal),
            on_value=lambda v: apply(s.but(focal=v)),
        )  # fmt: skip
    with solara.Card("Settings"):
        prior = wb.offer_prior_mean(s)
        if s.offer is not None and prior is not None:
            _slider(
                "credibility", f"credibility of what {s.offer} offers or threatens",
                s.credibility, prior, (0.0, 1.0, 0.01), lambda v: apply(s.but(credibility=v)),
            )  # fmt: skip
            _slider(
                "size", "size of the offer (share of the need it meets)",
                None if s.size == 1.0 else s.size, 1.0, (0.0, 1.0, 0.05),
                lambda v: apply(s.but(size=v)),
            )  # fmt: skip
        else:
            solara.Text("No offer in this variant.")
        value = setup.support_value
        median = float(np.median(value)) if value is not None else 2.0
        _slider(
            "support-value", "value of support (logits, every draw)", s.support_value, median,
            (0.0, 20.0, 0.5), lambda v: apply(s.but(support_value=v)),
        )  # fmt: skip
        if s.principal is not None:
            _slider(
                "tie", f"{s.principal}'s weight (tie on its asks, logits)", s.tie,
                wb.tie_prior_mean(s), (0.0, 3.0, 0.1), lambda v: apply(s.but(tie=v)),
            )  # fmt: skip
        solara.Button(
            "Back to the file as written", on_click=lambda: apply(wb.defaults(s.variant)),
            text=True,
        )  # fmt: skip


def _slider(
    name: str,
    label: str,
    value: float | None,
    file_value: float,
    bounds: tuple[float, float, float],
    on_value: Callable[[float], None],
) -> None:
    """A labelled slider (class ``sim-slider-<name>``): None is the file's own value, shown
    at `file_value` (a prior's mean).
    """
    low, high, step = bounds
    shown = file_value if value is None else value
    note = " (as in the file)" if value is None else ""
    with solara.Column(gap="0px", classes=[f"sim-slider-{name}"]):
        solara.Text(f"{label}: {shown:.2f}{note}")
        solara.SliderFloat(
            "", value=shown, min=low, max=high, step=step, thumb_label=True,
            on_value=lambda v: on_value(round(float(v), 4)),
        )  # fmt: skip


def _model(session: Session, settings: Settings, rounds: int | None) -> PageModel:
    """A page model under `settings`, played `rounds` rounds (None, or more than the variant
    has: to the vote).
    """
    model = PageModel(session)
    n_rounds = len(model.round_dates)
    rounds = n_rounds if rounds is None else min(rounds, n_rounds)
    if rounds:
        model.run_until(rounds)
    return model


@solara.component
def Page() -> None:  # noqa: N802
    """The whole page: the sidebar's settings and Mesa's ``SolaraViz`` of the model."""
    wb, variant = _configured()
    session = solara.use_memo(lambda: Session(wb, wb.defaults(variant)), [])
    settings = solara.use_reactive(session.settings)
    first = solara.use_memo(
        lambda: _model(session, session.settings, None),
        [],
    )
    model = solara.use_reactive(first)
    with solara.Sidebar():
        SettingsPanel(session, model, settings)
    # SolaraViz drives the model (Step, Play, Reset) and lays out the page; the panels are ours,
    # in a fixed layout: its draggable grid needs a Vue 2 plugin the Vue 3 front end lacks.
    name = session.workbench.scenario.name
    SolaraViz(model, components=[], model_params={"session": session}, name=name)
    Panels(model.value)


@solara.component
def Panels(model: PageModel) -> None:  # noqa: N802
    """The panels, redrawn after every round Mesa's controller plays."""
    update_counter.get()  # SolaraViz's force_update() after a step
    focal = model.session.settings.focal
    dates = model.round_dates

    def by_date(ax: Any) -> None:
        ax.set_xticks(range(len(dates)), dates)
        ax.set_xlabel("round (date); the last is the vote")
        ax.set_ylabel(f"{focal}: probability")
        ax.set_ylim(-0.02, 1.02)

    rounds_plot, _ = make_plot_component(
        {f"{focal}_{act}": COLOURS[act] for act in ACTS}, post_process=by_date
    )
    with solara.Columns([1, 1]):
        with solara.Column():
            with solara.Card("Followed member"):
                _focal_odds(model)
            with solara.Card("Tally against the rule's threshold"):
                _tally(model)
        with solara.Column():
            with solara.Card("Every member"):
                _strip(model)
            with solara.Card("Rounds"):
                _timeline(model)
                if model.steps:
                    rounds_plot(model)


def cdn_packages() -> list[str]:
    """The npm packages (``name@version``) Solara's page loads from its CDN: what a machine
    without access to the CDN needs in Solara's asset cache (``./dev`` fills it with
    ``npm pack`` where npm is available; elsewhere Solara fetches them on first use).

    Read from Solara's page template and settings, so they follow Solara's version.
    """
    import ipyvue
    from solara.server import settings as server_settings

    vue3 = ipyvue.__version__.startswith("3")
    root = Path(solara.__file__).parent
    sources = [root / "server" / "templates" / "solara.html.j2"]  # the page's template
    pattern = r"(?:\{\{cdn\}\}|getCdn\(\)\})/((?:@[\w.-]+/)?[\w.-]+@[\w.-]+)/"
    found = [f for path in sources for f in re.findall(pattern, path.read_text())]
    app = "solara-vuetify3-app@" if vue3 else "solara-vuetify-app@"
    found = [f for f in found if "solara-vuetify" not in f or app in f]  # the Vue it runs
    found.append(server_settings.assets.fontawesome_path.strip("/").split("/")[0])
    return sorted(set(found))


def asset_cache() -> Path:
    """Where Solara keeps the CDN files it serves (``SOLARA_ASSETS_PROXY_CACHE_DIR``)."""
    from solara.server import settings as server_settings

    return Path(server_settings.assets.proxy_cache_dir)


def serve(
    scenario: str | Path = DEFAULT_SCENARIO,
    *,
    variant: str | None = None,
    draws: int = 1000,
    seed: int = 20221230,
    calibration: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
) -> None:
    """Serve the page at ``http://HOST:PORT/`` until interrupted (Solara's server, uvicorn).

    The scenario is prepared before the server starts, so a bad file or variant fails here
    (:class:`sim.io.errors.ScenarioError`), not in the browser.
    """
    os.environ[ENV["scenario"]] = str(scenario)
    os.environ[ENV["variant"]] = variant or ""
    os.environ[ENV["draws"]] = str(draws)
    os.environ[ENV["seed"]] = str(seed)
    os.environ[ENV["calibration"]] = str(calibration or "")
    wb, chosen = _configured()
    wb.model(wb.defaults(chosen))  # validates the variant and prepares the episode
    os.environ["SOLARA_APP"] = f"{__name__}:Page"
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = host, str(port)
    uvicorn.run("solara.server.starlette:app", host=host, port=port, log_level="warning")


if __name__ == "__main__":  # ``python -m sim.run.explore --assets``: for ./dev
    import sys

    if sys.argv[1:] == ["--assets"]:
        print(asset_cache(), *cdn_packages())
