"""The ``sim`` command line: replay, sweep and price episodes, calibrate, validate, fetch data.

Parse, call the library, print; nothing else lives here. Bad scenario files and missing data end
with a one-line message per problem on stderr and exit code 2, and write nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.core.acts import ACTS, DIMENSIONS
from sim.core.seeds import DEFAULT_SEED
from sim.core.threads import one_blas_thread
from sim.estimate.validate import absence_deciles, absence_scores
from sim.estimate.validate import validate as run_validation
from sim.game.bargaining import DEFAULT_GRID
from sim.io.bundles import bundle_dir, write_bundle
from sim.io.data import data_parts, fetch, load_roll_calls, resolve_data_dir
from sim.io.errors import DataError, ScenarioError
from sim.io.plots import (
    plot_calibration,
    plot_episode_acts,
    plot_sweep,
    plot_sweep_heatmap,
    plot_variants,
)
from sim.io.results import atomic_write_bytes, atomic_write_text, write_json
from sim.io.scenario import load_scenario
from sim.run.bargain import price_offer
from sim.run.buy import Purchase, buy_votes
from sim.run.calibrate import calibrate_scenario
from sim.run.check import data_problems
from sim.run.designs import make_design, parse_range
from sim.run.episodes import leave_one_out, scenario_episodes, score_columns, scores_table
from sim.run.forecast import Forecaster, check_members, forecast_batch, read_batch
from sim.run.negotiate import negotiate as run_negotiation
from sim.run.replay import replay as run_replay
from sim.run.sensitivity import analyze_folder
from sim.run.sweep import Sweep, grid_from_assignments, run_sweep
from sim.run.target import plan_targets
from sim.run.un_library import fetch_un_library

if TYPE_CHECKING:
    from sim.run.replay import ReplayResult

app = typer.Typer(
    help=(
        "Vote trading for security support in the UN General Assembly.\n\n"
        "Replay an episode (a scenario file) to get every member's odds of yes, no, abstain "
        "or absent, the exact distribution of the tally and the probability of adoption; "
        "sweep its keys; price an offer, choose whom to ask and spend a budget of support "
        "(the bargaining game), or let the patrons negotiate; forecast and validate on real votes; "
        "calibrate on real roll calls."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # reflow docstring paragraphs to the terminal's width
)
data_app = typer.Typer(help="The UNGA roll-call data: fetch and check.", no_args_is_help=True)
app.add_typer(data_app, name="data")

out_console = Console()
err_console = Console(stderr=True)

ScenarioArg = Annotated[
    Path,
    typer.Argument(
        metavar="SCENARIO", help="A scenario TOML file, e.g. scenarios/icj_referral_2022.toml."
    ),
]

VariantOption = Annotated[
    str | None, typer.Option(help="Variant to use (default: the scenario's default).")
]
DrawsOption = Annotated[int, typer.Option(min=1, help="Parameter draws.")]
SeedOption = Annotated[int, typer.Option(help="Root seed (same seed, same bytes).")]
CalibrationOption = Annotated[
    Path | None,
    typer.Option(
        help="Folder of calibration bundles (default: the committed ones; a scenario of your "
        "own is calibrated on first use and kept in the user cache, SIM_CACHE_DIR)."
    ),
]


def _fail(exc: Exception) -> None:
    for line in str(exc).splitlines():
        err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


#: Members in the largest assembly a run holds (193 today).
_ASSEMBLY = 193
#: A replay's peak memory is about 4.6 times its odds array (draws x members x 4 acts x 8 bytes)
#: beyond a fixed ~0.3 GB (measured at 2,000 and 12,000 draws): the check uses 5.
_ODDS_ARRAYS_HELD = 5


def _available_memory() -> int | None:
    """Bytes of memory a run can still take (Linux's MemAvailable, else free pages), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _check_run(
    draws: int | None = None, seed: int | None = None, out: Path | None = None, *, runs: int = 1
) -> None:
    """Refuse, before any work, what would fail only after it or with a traceback: a negative
    seed, more draws than memory holds (`runs` at once), an output folder that cannot be one.
    """
    if seed is not None and seed < 0:
        raise ScenarioError(f"--seed: expected a whole number, 0 or more; got {seed}")
    if draws is not None:
        need = _ODDS_ARRAYS_HELD * draws * _ASSEMBLY * len(ACTS) * 8 * runs
        free = _available_memory()
        if free is not None and need > free:
            raise ScenarioError(
                f"--draws: {draws:,} draws need about {need / 2**30:,.1f} GiB of memory "
                f"({_ODDS_ARRAYS_HELD} x draws x {_ASSEMBLY} members x 4 acts x 8 bytes"
                f"{f' x {runs} workers' if runs > 1 else ''}); {free / 2**30:,.1f} GiB are "
                f"available: use fewer draws"
            )
    if out is not None:
        for folder in (out, *out.parents):
            if folder.exists():
                if not folder.is_dir():
                    what = f"{out} is" if folder == out else f"{out} is under {folder}, which is"
                    raise ScenarioError(f"--out: {what} a file, not a folder; give a folder")
                if not os.access(folder, os.W_OK | os.X_OK):
                    raise ScenarioError(f"--out: {out}: cannot write in {folder}")
                break


@app.command()
def replay(
    scenario: ScenarioArg,
    variant: Annotated[
        str | None, typer.Option(help="Variant to run (default: the scenario's default).")
    ] = None,
    draws: Annotated[
        int, typer.Option(min=1, help="Parameter draws; each gives exact odds for every member.")
    ] = 4000,
    seed: Annotated[int, typer.Option(help="Root seed (same seed, same bytes).")] = DEFAULT_SEED,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: results/SCENARIO/VARIANT/)."),
    ] = None,
    calibration: CalibrationOption = None,
    all_variants: Annotated[
        bool,
        typer.Option(
            "--all-variants",
            help="Run every variant; also plots the first focal member's odds by variant.",
        ),
    ] = False,
    plots: Annotated[
        bool, typer.Option("--plots/--no-plots", help="Write odds.png and tally.png.")
    ] = True,
    attendance: Annotated[
        bool,
        typer.Option(
            "--attendance",
            help="Refit absence by the attendance layer (needs the roll-call data; fitted on "
            "the year before the vote's, features from the roll calls before its day; off for "
            "a vote past the data's end).",
        ),
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="Roll-call data folder (with --attendance).")
    ] = None,
) -> None:
    """Replay SCENARIO: print the focal members' odds, the expected tally and the pass odds.

    Writes members.csv, tally.csv, rounds.csv, summary.json and manifest.json to the output
    folder, atomically.
    """
    try:
        _check_run(draws, seed, out or Path("results"))
        loaded = load_scenario(scenario)
        names = list(loaded.variants) if all_variants else [variant or loaded.spec.default_variant]
        for name in names:
            loaded.events(name)  # validates the variant name before any work
        results = []
        data = load_roll_calls(data_dir) if attendance else None
        for name in names:
            with err_console.status(f"replaying {loaded.name} / {name} ({draws} draws)..."):
                result = run_replay(
                    loaded, variant=name, n_draws=draws, seed=seed, calibration=calibration,
                    attendance=data,
                )  # fmt: skip
            target = out if (out is not None and not all_variants) else None
            if target is None:
                base = out if out is not None else Path("results")
                target = base / loaded.name / name
            result.write(target, plots=plots)
            _print_result(result, target)
            results.append(result)
        if all_variants and plots and loaded.spec.focal:
            iso3 = loaded.spec.focal[0]
            base = out if out is not None else Path("results")
            path = base / loaded.name / f"variants_{iso3}.png"
            plot_variants(results, iso3, path)
            out_console.print(f"{iso3}'s odds by variant: {path}")
    except (ScenarioError, DataError) as exc:
        _fail(exc)


def _focal_table(result: ReplayResult) -> Table:
    s = result.setup
    table = Table(title="Focal members: probability of each act (mean over draws)")
    table.add_column("member")
    for act in ACTS:
        table.add_column(act, justify="right")
    table.add_column("most likely")
    members = result.members.set_index("iso3")
    for iso3 in s.focal:
        row = members.loc[iso3]
        best = result.most_likely(iso3)
        cells = [
            f"[bold]{row[f'p_{act}']:.3f}[/]" if act == best else f"{row[f'p_{act}']:.3f}"
            for act in ACTS
        ]
        table.add_row(f"{iso3} {row['name']}", *cells, best)
    return table


def _print_result(result: ReplayResult, target: Path) -> None:
    s = result.setup
    spec = s.scenario.spec
    out_console.rule(
        f"[bold]{spec.resolution.symbol}[/] {spec.resolution.date} · variant "
        f"[bold]{s.variant}[/] · {s.n_draws} draws · seed {s.seed}"
    )
    if s.focal:
        out_console.print(_focal_table(result))
    tally = Table(title=f"Assembly tally ({spec.resolution.rule.replace('_', ' ')})")
    tally.add_column("")
    for act in ACTS:
        tally.add_column(act, justify="right")
    means = result.tally.mean()
    tally.add_row("expected", *[f"{means[a]:.1f}" for a in ACTS])
    tally.add_row("90% interval", *["{}–{}".format(*result.tally.interval(a)) for a in ACTS])
    if spec.outcome is not None:
        o = spec.outcome.tally
        tally.add_row(
            "[dim]recorded (not an input)[/]",
            *[f"[dim]{v}[/]" for v in (o.yes, o.no, o.abstain, o.not_voting)],
        )
    out_console.print(tally)
    out_console.print(f"P(adopted) = [bold]{result.tally.prob_pass():.3f}[/]")
    score = result.score()
    if score is not None:
        outside = [
            f"{a} {v['recorded']} outside {v['interval90'][0]}–{v['interval90'][1]}"
            for a, v in score["tally"].items()
            if not v["inside"]
        ]
        acts = "; ".join(f"{iso3} {r['act']} p={r['p']:.3f}" for iso3, r in score["acts"].items())
        out_console.print(
            f"[dim]against the record (not an input): mean error {score['tally_mae']:.1f} "
            f"members per act; "
            + ("every count within its 90% interval" if not outside else "; ".join(outside))
            + (f"; {acts} (log-loss {score['acts_log_loss']:.2f})" if acts else "")
            + "[/]",
            highlight=False,
        )
    deal = result.deal()
    v, k = deal["support_value"], deal["evasion"]
    out_console.print(
        f"value of support {v['median']:.1f} logits (90% {v['q05']:.1f}–{v['q95']:.1f}), "
        f"evasion {k['median']:.2f} ({k['q05']:.2f}–{k['q95']:.2f}); "
        + (
            f"absence read as {deal['reading_not_support']['median']:.2f} compliance by an ask "
            f"not to support, {deal['reading_positive']['median']:.2f} by an ask for yes; "
            if "reading_not_support" in deal
            else ""
        )
        + f"from the {escape(deal['source'])}"
    )
    # One line per (date, patron, support): a threat to every member draws dozens of them.
    grouped: dict[tuple[str, str, str, str], list[str]] = {}
    for ask in result.counter_asks:
        key = (ask["date"], ask["asks"], ask["for"], ask["event"])
        grouped.setdefault(key, []).append(ask["member"])
    for (date, patron, support, _event), who in grouped.items():
        shown = ", ".join(who[:8]) + (f" and {len(who) - 8} more" if len(who) > 8 else "")
        verb = "asks" if len(who) == 1 else "ask"
        out_console.print(f"counter-ask {date}: {shown} {verb} {patron} for {support}")
        # The pricing game takes the patron's latest ask to the member (a later one supersedes
        # the one the member answered).
        latest = s.latest_ask(patron, who[0])
        if latest is not None and latest.offer_kind is not None:
            out_console.print(
                f"  price it: sim bargain {s.scenario.path or s.scenario.name} --event "
                f"{latest.event_id} --target {who[0]}",
                highlight=False,
            )
    for note in s.notes:
        out_console.print(f"[yellow]note:[/] {note}")
    out_console.print(f"written to {target}/")


@app.command()
def sweep(
    scenario: ScenarioArg,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY=V1,V2,... : a dotted key of the scenario file and its values (repeat for "
            "a full factorial grid), e.g. events.netanyahu_call.offer.credibility=0,0.5,firm",
        ),
    ] = None,
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="KEY=LOW:HIGH : a dotted key and its range for a designed sweep (repeat), e.g. "
            "model.support_value=1:20; credibility ends may be words (talks:firm, their means).",
        ),
    ] = None,
    design: Annotated[
        str,
        typer.Option(
            help="With --param: grid (N levels per key), lhs (N points), sobol (N a power of "
            "two; N*(keys+2) points) or morris (N trajectories; N*(keys+1) points), by SALib."
        ),
    ] = "grid",
    n: Annotated[int, typer.Option("--n", help="The design's N (see --design).")] = 64,
    analyze: Annotated[
        bool,
        typer.Option(
            "--analyze",
            help="After a sobol or morris sweep: print each output's sensitivity indices, "
            "ranked, and write sensitivity.csv and sensitivity.png.",
        ),
    ] = False,
    variant: Annotated[
        str | None, typer.Option(help="Variant replayed at every point (default: the default).")
    ] = None,
    draws: Annotated[int, typer.Option(min=1, help="Parameter draws per point.")] = 1000,
    seed: Annotated[
        int,
        typer.Option(
            help="Root seed, the same at every point (common random numbers); also the "
            "design's and the bootstrap's."
        ),
    ] = DEFAULT_SEED,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: results/SCENARIO/sweep/)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Points replayed at once (worker processes; with --scheduler local, the "
            "local dask cluster's workers).",
        ),
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Run the points on dask.distributed: a scheduler's address "
            "(tcp://host:8786), or 'local' to start a local cluster of --workers processes "
            "(needs sim[cluster]). Default: this machine's processes.",
        ),
    ] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Discard another sweep's points found in OUT.")
    ] = False,
    calibration: CalibrationOption = None,
) -> None:
    """Sweep SCENARIO: replay it at every combination of the values given with --set, or at
    the points of a design over the ranges given with --param.

    Every point is validated first; each finished point is written at once to
    OUT/points/NNNN.json, so an interrupted sweep resumes where it stopped when run again with
    the same arguments. Writes points.csv (per point: the values, the expected tally, the
    probability of adoption), members.csv (per point and focal member: its odds and their 90%
    intervals), sweep.nc (the same as a labelled netCDF dataset), manifest.json, and with one
    swept key a plot of the first focal member's odds along it (words such as talks at their
    credibility's mean), a heat map with two. The files are the same bytes
    whatever --workers and --scheduler.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    try:
        _check_run(draws, seed, out or Path("results"), runs=workers)
        if assignments and params:
            raise ScenarioError("sweep: give either --set (a grid) or --param (a design)")
        if analyze and not params:
            raise ScenarioError("sweep: --analyze needs --param and --design sobol or morris")
        if analyze and design not in ("sobol", "morris"):
            raise ScenarioError(
                f"sweep: --analyze needs --design sobol or morris; got --design {design}"
            )
        options = {"variant": variant, "draws": draws, "seed": seed, "calibration": calibration}
        if params:
            ranges = [parse_range(text) for text in params]
            plan = Sweep(
                scenario=scenario, design=make_design(ranges, design, n, seed=seed), **options
            )
        else:
            plan = Sweep(
                scenario=scenario, grid=grid_from_assignments(assignments or []), **options
            )
        first = plan.scenario_at(0)  # validates every point, before the progress bar
        target = out if out is not None else Path("results") / first.name / "sweep"
        with Progress(
            "[bold]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task(f"sweeping {first.name}", total=len(plan.points))
            points, members = run_sweep(
                plan,
                target,
                workers=workers,
                scheduler=scheduler,
                restart=restart,
                on_point=lambda _: bar.advance(task),
            )
        indices = analyze_folder(target) if analyze else None
    except (ScenarioError, DataError) as exc:
        _fail(exc)
    keys = plan.keys
    focal = first.spec.focal[0] if first.spec.focal else None
    if plan.design is None or len(points) <= 20:
        _print_sweep(points, members, keys, focal, title=f"Sweep of {first.name}: {len(points)} "
                     f"points ({draws} draws each)\n" + "; ".join(keys))  # fmt: skip
    else:
        out_console.print(
            f"Sweep of {first.name}: {len(points)} points of a {plan.design.kind} design "
            f"(N={plan.design.n}, {draws} draws each) over " + "; ".join(keys)
        )
    if focal and len(keys) == 1 and plan.design is None:
        plot_sweep(points, members, keys[0], focal, target / f"sweep_{focal}.png")
    elif focal and len(keys) == 2 and plan.design is None:
        plot_sweep_heatmap(points, members, keys, focal, target / f"sweep_{focal}.png")
    if indices is not None:
        _print_indices(indices)
    files = "points.csv, members.csv, sweep.nc, manifest.json"
    if indices is not None:
        files += ", sensitivity.csv, sensitivity.png"
    out_console.print(f"written to {target}/ ({files})")


def _print_sweep(
    points: Any, members: Any, keys: list[str], focal: str | None, *, title: str
) -> None:
    table = Table(title=title)
    for key in keys:
        table.add_column(key.rsplit(".", 1)[-1])
    if focal:
        table.add_column(f"{focal} most likely")
        for act in ACTS:
            table.add_column(f"{focal} {act}", justify="right")
    table.add_column("P(adopted)", justify="right")
    rows = members[members["iso3"] == focal].reset_index(drop=True) if focal else None
    for i, point in points.iterrows():
        cells = [  # the column's type: 13, not 13.0; a design's values to 4 digits
            f"{v:.4g}" if isinstance(v, float) else str(v)
            for v in (points.at[i, key] for key in keys)
        ]
        if rows is not None:
            cells.append(str(rows.loc[i, "most_likely"]))
            cells += [f"{rows.loc[i, f'p_{act}']:.3f}" for act in ACTS]
        cells.append(f"{point['p_adopted']:.3f}")
        table.add_row(*cells)
    out_console.print(table)


def _short_names(keys: list[str]) -> dict[str, str]:
    """Each dotted key's shortest dotted ending that no other key shares."""
    out = {}
    for key in keys:
        parts = key.split(".")
        for k in range(1, len(parts) + 1):
            tail = ".".join(parts[-k:])
            if not any(o != key and (o == tail or o.endswith("." + tail)) for o in keys):
                break
        out[key] = tail
    return out


def _print_indices(indices: Any) -> None:
    from rich import box

    sobol = "ST" in indices.columns
    short = _short_names(list(dict.fromkeys(indices["parameter"])))
    table = Table(
        title="Sensitivity: Sobol' first-order and total indices, 95% intervals"
        if sobol
        else "Sensitivity: Morris elementary effects (mu* with its 95% interval, sigma)",
        caption="; ".join(f"{v} = {k}" for k, v in short.items() if v != k) or None,
        box=box.SIMPLE,
    )
    table.add_column("output", overflow="fold")
    table.add_column("rank", justify="right")
    table.add_column("parameter", overflow="fold")
    if sobol:
        table.add_column("S1", justify="right")
        table.add_column("ST", justify="right")
    else:
        table.add_column("mu*", justify="right")
        table.add_column("sigma", justify="right")
    for _, row in indices.iterrows():
        if sobol:
            cells = [f"{row.S1:.3f}±{row.S1_conf:.3f}", f"{row.ST:.3f}±{row.ST_conf:.3f}"]
        else:
            cells = [f"{row.mu_star:.3g}±{row.mu_star_conf:.3g}", f"{row.sigma:.3g}"]
        output = row.output if row["rank"] == 1 else ""
        table.add_row(output, str(row["rank"]), short[row.parameter], *cells)
    out_console.print(table)
    constant = indices.attrs.get("constant") or []
    if constant:
        members = sorted({c.split(".")[0] for c in constant if "." in c})
        named = [c for c in constant if "." not in c]
        if members:
            named.append("the odds of " + ", ".join(members))
        out_console.print("constant over the design (no indices): " + "; ".join(named))


@app.command()
def sensitivity(
    folder: Annotated[
        Path,
        typer.Argument(metavar="FOLDER", help="A finished sobol or morris sweep's folder."),
    ],
) -> None:
    """Sensitivity indices of a finished designed sweep (as sim sweep --analyze).

    For a sobol design, Sobol' first-order (S1) and total (ST) indices with 95% intervals; for
    a morris design, mu* (with its 95% interval) and sigma; for each output (the probability of
    adoption, the expected counts, the focal members' odds), keys ranked. Writes
    sensitivity.csv and sensitivity.png into FOLDER.
    """
    try:
        indices = analyze_folder(folder)
    except (ScenarioError, DataError) as exc:
        _fail(exc)
    _print_indices(indices)
    out_console.print(f"written to {folder}/ (sensitivity.csv, sensitivity.png)")


@app.command()
def bargain(
    scenario: ScenarioArg,
    event: Annotated[
        str, typer.Option(help="Id of the ask whose offer is priced, e.g. netanyahu_call.")
    ],
    target: Annotated[str, typer.Option(help="ISO3 code of the member asked, e.g. UKR.")],
    grid: Annotated[
        str | None,
        typer.Option(
            help="Credibilities the patron chooses among, comma-separated in [0, 1] (default: "
            "0 to 1 in steps of 0.05; 0 is always included)."
        ),
    ] = None,
    cost_ratio: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Cost to the patron of firmly committing the target's whole need (for a "
            "threat: of carrying it out), per unit of the target's compliance it gains: report "
            "the equilibrium at this ratio.",
        ),
    ] = None,
    variant: VariantOption = None,
    draws: DrawsOption = 1000,
    seed: SeedOption = DEFAULT_SEED,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output folder (default: results/SCENARIO/VARIANT/bargain_EVENT_TARGET/)."
        ),
    ] = None,
    calibration: CalibrationOption = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Write bargain.png.")] = True,
) -> None:
    """Price an offer or a threat (MODEL.md §4): how firmly the patron should commit support.

    For every credibility on the grid, TARGET's exact odds under EVENT's offer (every other
    parameter at the same draws), the patron's expected compliance (its reading of the act: +1
    asked, -1 the opposite, 0 absent) and the target's surplus in logits. The patron's best
    response depends only on the cost ratio, so the offers it ever makes are listed with the
    range of cost ratios on which each is best; --cost-ratio picks the equilibrium at one. An
    ask's cost is the commitment's (credibility x need, paid whatever the target does); a
    threat's is paid when it is carried out, on defiance (credibility x need x expected
    defiance). Writes offers.csv, switch_points.csv, summary.json, bargain.png and
    manifest.json.
    """
    try:
        _check_run(draws, seed, out or Path("results"))
        loaded = load_scenario(scenario)
        name = variant or loaded.spec.default_variant
        loaded.events(name)  # validates the variant name before any work
        try:
            values = DEFAULT_GRID if grid is None else [float(v) for v in grid.split(",")]
        except ValueError:
            raise ScenarioError(
                f"--grid: expected numbers in [0, 1] separated by commas; got {grid!r}"
            ) from None
        with err_console.status(f"pricing {event} for {target} ({len(values)} offers)..."):
            solved = price_offer(
                loaded, event=event, target=target, credibilities=values, variant=name,
                n_draws=draws, seed=seed, calibration=calibration,
            )  # fmt: skip
    except (ScenarioError, DataError) as exc:
        _fail(exc)
    where = out or Path("results") / loaded.name / name / f"bargain_{event}_{target}"
    solved.write(where, cost_ratio=cost_ratio, plots=plots)
    threat = solved.event_kind == "threat"
    what = f"its threat to withhold {solved.kind} from" if threat else f"{solved.kind} for"
    table = Table(
        title=f"{solved.patron} prices {what} {target} ({event}; need {solved.need:g}, "
        f"{draws} draws): the {'threats' if threat else 'offers'} it ever makes",
        caption=f"c: credibility of the {'threat' if threat else 'offer'}, best while the cost "
        "ratio r lies between 'r from' and 'r to'; G: the patron's expected reading of the act; "
        "S: the target's surplus (logits)",
    )
    for column in ("c", "r from", "r to", *ACTS, "G", "S"):
        table.add_column(column, justify="right")
    offers = solved.table().set_index("credibility")
    for _, row in solved.switch_points.iterrows():
        odds = offers.loc[row["credibility"]]
        table.add_row(
            f"{row['credibility']:g}", f"{row['cost_ratio_low']:.3g}",
            f"{row['cost_ratio_high']:.3g}", *(f"{odds[f'p_{a}']:.3f}" for a in ACTS),
            f"{row['compliance']:+.3f}", f"{row['target_surplus']:+.3f}",
        )  # fmt: skip
    out_console.print(table)
    written = next(e for e in loaded.events(name) if e.id == event).offer
    if written is not None:
        prior = written.credibility
        params = ", ".join(f"{k} {v:g}" for k, v in prior.params)
        out_console.print(
            f"As the scenario writes it, the {'threat' if threat else 'offer'}'s credibility is "
            f"{prior.dist} ({params}), "
            f"mean {prior.mean():.2f}.",
            highlight=False,
        )
    if cost_ratio is not None:
        best = solved.best_response(cost_ratio)
        out_console.print(
            f"At cost ratio {cost_ratio:g}: {solved.patron} "
            f"{'threatens with' if threat else 'offers'} credibility "
            f"{best['credibility']:g}; {target} votes yes {best['p_yes']:.3f}, no "
            f"{best['p_no']:.3f}, abstain {best['p_abstain']:.3f}, absent {best['p_absent']:.3f};"
            f" surplus: patron {best['patron_surplus']:+.3f} (per unit of compliance), target "
            f"{best['target_surplus']:+.3f} logits."
        )
    out_console.print(f"written to {where}/")


@app.command()
def negotiate(
    scenario: ScenarioArg,
    variant: VariantOption = None,
    rounds: Annotated[
        int | None,
        typer.Option(
            min=1, help="Rounds from the first cited ask to the vote (default: the scenario's)."
        ),
    ] = None,
    draws: DrawsOption = 1000,
    seed: SeedOption = DEFAULT_SEED,
    budget: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Replace every patron's budget of every kind (firm commitments of a member's "
            "whole need).",
        ),
    ] = None,
    cost: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Replace every cost ratio (what a firm commitment of a member's whole need "
            "costs the patron, in units of the member's full compliance).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: results/SCENARIO/VARIANT/negotiate/)."),
    ] = None,
    calibration: CalibrationOption = None,
    plots: Annotated[
        bool, typer.Option("--plots/--no-plots", help="Write odds.png and tally.png.")
    ] = True,
) -> None:
    """Negotiate SCENARIO: the patrons of its [negotiation] section choose their own asks and
    offers, round by round, from the first cited ask to the vote (the cited asks a floor).

    Each round the patrons move in turn, each by its best response to the members' current
    odds within its budget (an offer the member did not ask for is at most talks); asked
    members counter-ask for support they need; the patron answers a counter-ask in the next
    round: accept (a firm commitment), talks or refuse. Prints the path (who asked whom, what
    was offered, counter-asks and answers, the member's odds after each) and the tally; writes
    the replay's files and trades.csv (one row per exchange).
    """
    try:
        loaded = load_scenario(scenario)
        name = variant or loaded.spec.default_variant
        loaded.events(name)  # validates the variant name before any work
        if loaded.spec.negotiation is None:
            raise ScenarioError(
                f"{scenario}: negotiation: expected a [negotiation] section naming the patrons "
                f"that negotiate (docs/scenarios.md)"
            )
        with err_console.status(f"negotiating {loaded.name} / {name} ({draws} draws)..."):
            result = run_negotiation(
                loaded, variant=name, rounds=rounds, n_draws=draws, seed=seed, budget=budget,
                cost=cost, calibration=calibration,
            )  # fmt: skip
    except (ScenarioError, DataError) as exc:
        _fail(exc)
    where = out or Path("results") / loaded.name / name / "negotiate"
    result.write(where, plots=plots)
    out_console.rule(
        f"[bold]negotiation[/] {loaded.spec.resolution.symbol} · variant [bold]{name}[/] · "
        f"{result.rounds} rounds · {draws} draws · seed {seed}"
    )
    for line in result.path() or ["no patron made an offer"]:
        out_console.print(line, highlight=False)
    rounds = result.replay.rounds
    traded = [m for m in dict.fromkeys(result.trades["member"]) if f"{m}_yes" in rounds]
    for iso3 in traded:  # focal members the patrons dealt with: their odds after each round
        table = Table(title=f"{iso3}: odds after each round")
        for column in ("round", "date", *ACTS):
            table.add_column(column, justify="right")
        for k, row in rounds.iterrows():
            table.add_row(
                str(k + 1), str(row["date"]), *(f"{row[f'{iso3}_{a}']:.3f}" for a in ACTS)
            )
        out_console.print(table)
    for patron, kinds in result.spent.items():
        for kind, row in kinds.items():
            third = f", third party {row['third_party']}" if row["third_party"] else ""
            out_console.print(
                f"{patron} committed {row['spent']:.3g} of its {kind} budget {row['budget']:g} "
                f"(cost ratio {row['cost_ratio']:g}{third})",
                highlight=False,
            )
    _print_result(result.replay, where)


@app.command()
def target(
    scenario: ScenarioArg,
    event: Annotated[
        str, typer.Option(help="Id of the ask or threat to send, e.g. lapid_letters.")
    ],
    calls: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="How many members the patron asks (default: as many as the event reaches in "
            "the scenario).",
        ),
    ] = None,
    objective: Annotated[
        str,
        typer.Option(
            help="votes: rank by the votes the ask moves; outcome: pick the CALLS members "
            "greedily by the exact change each makes to the chance of the outcome the patron "
            "wants (adoption if it asks for yes, else defeat), the rest by votes.",
        ),
    ] = "votes",
    show: Annotated[int, typer.Option(min=0, help="Members to list, best first.")] = 15,
    variant: VariantOption = None,
    draws: DrawsOption = 1000,
    seed: SeedOption = DEFAULT_SEED,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: results/SCENARIO/VARIANT/target_EVENT/)."),
    ] = None,
    calibration: CalibrationOption = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Write targets.png.")] = True,
) -> None:
    """Whom should the patron ask (MODEL.md §4)? Rank every member by the votes EVENT's ask
    would move if it reached that member.

    Each member's exact odds with and without the ask (every other parameter at the same
    draws); its gain is the change in the patron's expected reading of its act (+1 asked, -1
    the opposite, 0 absent). Every call costs the same, so the patron's best list of K calls is
    the K largest gains. Compares that list with the members the scenario's event names: the
    expected tally and the exact probability of adoption of each. Writes targets.csv,
    curve.csv, summary.json, targets.png and manifest.json.
    """
    try:
        _check_run(draws, seed, out or Path("results"))
        loaded = load_scenario(scenario)
        name = variant or loaded.spec.default_variant
        loaded.events(name)  # validates the variant name before any work
        with err_console.status(f"sending {event} to every member ({draws} draws)..."):
            solved = plan_targets(
                loaded, event=event, calls=calls, objective=objective, variant=name,
                n_draws=draws, seed=seed, calibration=calibration,
            )  # fmt: skip
    except (ScenarioError, DataError) as exc:
        _fail(exc)
    where = out or Path("results") / loaded.name / name / f"target_{event}"
    solved.write(where, plots=plots)
    table = Table(
        title=f"{solved.patron} asks for {' or '.join(solved.acts)} ({event}; {draws} draws): "
        f"the members it moves most",
        caption="gain: change in the patron's expected reading of the act (+1 asked, -1 the "
        "opposite, 0 absent); odds without→with the ask; *: the scenario's list",
    )
    for column in ("rank", "member", "gain", *ACTS):
        table.add_column(column, justify="right")
    for _, row in solved.table().head(show).iterrows():
        table.add_row(
            str(row["rank"]), f"{row['iso3']}{'*' if row['in_scenario'] else ''}",
            f"{row['gain']:+.3f}",
            *(f"{row[f'p_{a}']:.2f}→{row[f'p_{a}_asked']:.2f}" for a in ACTS),
        )  # fmt: skip
    if show:
        out_console.print(table)
    plans = Table(title="The assembly under each list (expected counts; exact P(adopted))")
    for column in ("asked", *ACTS, "compliance", "P(adopted)"):
        plans.add_column(column, justify="right")
    for key, label in (
        ("nobody", "nobody"),
        ("scenario", f"the scenario's {len(solved.plans['scenario']['members'])}"),
        ("model", f"the best {solved.calls}"),
    ):
        p = solved.plans[key]
        plans.add_row(
            label, *(f"{p[f'expected_{a}']:.1f}" for a in ACTS), f"{p['compliance_gain']:+.2f}",
            f"{p['p_adopted']:.3f}",
        )  # fmt: skip
    out_console.print(plans)
    ranked = solved.table()
    pivot = ranked.loc[ranked["adoption_gain"].abs().idxmax()]
    decisive = ranked.loc[ranked["p_decisive"].idxmax()]
    if abs(pivot["adoption_gain"]) >= 5e-4:
        out_console.print(
            f"Asked alone, {pivot['iso3']} would move P(adopted) most: "
            f"{pivot['adoption_gain']:+.3f} (adoption_gain in targets.csv).",
            highlight=False,
        )
    elif decisive["p_decisive"] > 0:
        out_console.print(
            f"No single call moves P(adopted) by 0.0005 or more; the most decisive member, "
            f"{decisive['iso3']}, decides it with probability {decisive['p_decisive']:.2g}.",
            highlight=False,
        )
    else:
        out_console.print("No member's vote decides the outcome in any draw.")
    summary = solved.summary()
    out_console.print(
        f"{summary['overlap_with_scenario']} of the best {solved.calls} are on the scenario's "
        f"list. Written to {where}/"
    )


@app.command()
def buy(
    scenario: ScenarioArg,
    event: Annotated[
        str, typer.Option(help="Id of the ask or threat whose offer the patron spends on.")
    ],
    budget: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="What the patron can spend, in firm commitments of a member's whole need "
            "(default: the expected spend of the event as the scenario writes it).",
        ),
    ] = None,
    reach: Annotated[
        str,
        typer.Option(
            help="event: the members the event reaches, each asked as it happened (the budget "
            "sets how firm each offer is); all: any member with a vote, asked or not.",
        ),
    ] = "event",
    call_cost: Annotated[
        float,
        typer.Option(min=0.0, help="With --reach all, what an ask costs on top of its offer."),
    ] = 0.0,
    rival: Annotated[
        str | None,
        typer.Option(
            help="Another principal's ask or threat with an offer: it answers the allocation "
            "with its own budget (Groseclose & Snyder's second buyer).",
        ),
    ] = None,
    rival_budget: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="The rival's budget (default: its event's expected spend as written)."
        ),
    ] = None,
    anticipate: Annotated[
        bool,
        typer.Option(
            "--anticipate",
            help="With --rival, also solve the contest in which the patron anticipates the "
            "rival's response (every pair of offers on 0, 0.25, ..., 1): the patron ignoring "
            "the rival's money against anticipating it.",
        ),
    ] = False,
    outcome: Annotated[
        bool,
        typer.Option(
            "--outcome",
            help="Also spend the budget for the outcome (Groseclose & Snyder's buyers): the "
            "exact probability that the resolution is adopted, if EVENT asks for yes, or "
            "rejected, if it asks against; greedy on each member's exact effect on it. Not "
            "with --rival.",
        ),
    ] = False,
    show: Annotated[int, typer.Option(min=0, help="Members to list, best bought first.")] = 15,
    variant: VariantOption = None,
    draws: DrawsOption = 1000,
    seed: SeedOption = DEFAULT_SEED,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: results/SCENARIO/VARIANT/buy_EVENT/)."),
    ] = None,
    calibration: CalibrationOption = None,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Write frontier.png.")] = True,
) -> None:
    """Spend a budget of support across members by the cheapest expected vote gain (MODEL.md
    §4; Groseclose & Snyder 1996).

    For every credibility from 0 to 1 (steps of 0.05), every member's exact odds when EVENT's
    ask reaches it with the offer made that firmly; the gain is the change in the patron's
    expected reading of the act (+1 asked, -1 the opposite, 0 absent), the cost the commitment
    (credibility x need; for a threat, paid on expected defiance). The patron buys the steepest
    steps of each member's concave hull of offers until the budget is spent. Compares the
    allocation with the event as written: expected tally and exact probability of adoption.
    With --rival, another principal's event answers the allocation the same way with its own
    budget; with --anticipate, the patron may also anticipate that answer. With --outcome, the
    patron also spends for the outcome instead of the votes. Writes purchase.csv, frontier.csv,
    summary.json, frontier.png and manifest.json.
    """
    try:
        _check_run(draws, seed, out or Path("results"))
        loaded = load_scenario(scenario)
        name = variant or loaded.spec.default_variant
        loaded.events(name)  # validates the variant name before any work
        with err_console.status(f"offering {event} at 21 credibilities ({draws} draws)..."):
            solved = buy_votes(
                loaded, event=event, budget=budget, reach=reach, call_cost=call_cost,
                rival=rival, rival_budget=rival_budget, anticipate=anticipate, outcome=outcome,
                variant=name, n_draws=draws, seed=seed, calibration=calibration,
            )  # fmt: skip
    except (ScenarioError, DataError) as exc:
        _fail(exc)
    where = out or Path("results") / loaded.name / name / f"buy_{event}"
    solved.write(where, plots=plots)
    if show:
        out_console.print(_offers_table(solved, show=show, event=event, draws=draws))
    out_console.print(_purchase_plans_table(solved, event=event))
    for line in _purchase_lines(solved):
        out_console.print(line, highlight=False)
    offers = solved.plans.model["offers"]
    firm = sum(1 for c in offers.values() if c > 0)
    out_console.print(
        f"{len(offers)} member{'s' if len(offers) != 1 else ''} asked, {firm} of them with a "
        f"commitment; written to {where}/",
        highlight=False,
    )


def _offers_table(solved: Purchase, *, show: int, event: str, draws: int) -> Table:
    """The members a purchase makes offers to, best bought first (the first `show`)."""
    table = Table(
        title=f"{solved.patron} spends {solved.budget:.3g} on {solved.kind} ({event}; "
        f"{draws} draws): the offers it makes",
        caption="offer: credibility (-: not asked); cost in firm commitments of the whole "
        "need; gain: change in the patron's expected reading of the act; odds as bought "
        "(without the ask in purchase.csv); *: the scenario's list",
    )
    for column in ("member", "need", "offer", "cost", "gain", *ACTS):
        table.add_column(column, justify="right")
    for _, row in solved.table().head(show).iterrows():
        offer = "-" if not row["asked"] else f"{row['credibility']:.2f}"
        table.add_row(
            f"{row['iso3']}{'*' if row['in_scenario'] else ''}", f"{row['need']:.2g}", offer,
            f"{row['cost']:.3f}", f"{row['gain']:+.3f}",
            *(f"{row[f'p_{a}_bought']:.2f}" for a in ACTS),
        )  # fmt: skip
    return table


def _purchase_plans_table(solved: Purchase, *, event: str) -> Table:
    """The assembly under each plan a purchase computed (expected counts, P(adopted))."""
    plans = Table(
        title="The assembly under each plan (expected counts; exact P(adopted))",
        caption=f"without: {event} sent to nobody; as written: the scenario's event; gain: "
        "expected compliance gained",
    )
    for column in ("plan", "spend", *ACTS, "gain", "P(adopted)"):
        plans.add_column(column, justify="right")
    labels = {"nobody": "without", "scenario": "as written", "model": "allocation",
              "rival": "after rival", "outcome": "for outcome"}  # fmt: skip
    for key, label in labels.items():
        if key not in solved.plans:
            continue
        p = solved.plans[key]
        plans.add_row(
            label, f"{p['spend']:.3f}", *(f"{p[f'expected_{a}']:.1f}" for a in ACTS),
            f"{p['compliance_gain']:+.2f}", f"{p['p_adopted']:.3f}",
        )  # fmt: skip
    return plans


def _purchase_lines(solved: Purchase) -> list[str]:
    """What the rival, the outcome buyer and the contest did, a sentence each (where run)."""
    lines = []
    if (answer := solved.plans.rival) is not None:
        committed = sorted(k for k, c in answer["rival_offers"].items() if c > 0)
        listed = ", ".join(committed[:10]) + (", ..." if len(committed) > 10 else "")
        lines.append(
            f"{answer['rival']} answers with {answer['rival_spend']:.3g} of its budget of "
            f"{answer['rival_budget']:.3g}: commitments to {len(committed)} members"
            f"{f' ({listed})' if committed else ''}, its compliance "
            f"{answer['rival_compliance_gain']:+.2f}; {solved.patron}'s "
            f"falls from {solved.plans.model['compliance_gain']:+.2f} to "
            f"{answer['compliance_gain']:+.2f}."
        )
    if (o := solved.plans.outcome) is not None:
        how = (
            f"buys {len(o['offers'])} offers in {o['moves']} moves for {o['spend']:.3g}"
            if o["source"] == "outcome"
            else "does no better than the vote-counting allocation, which it keeps"
        )
        if o["source"] == "outcome" and o["moves"] == 0:
            how = "finds no move that changes the outcome and spends only what asking costs"
        lines.append(
            f"Spending for the outcome ({o['want']}), {solved.patron} {how}: P({o['want']}) "
            f"{o['p_want']:.3f}, against {o['p_want_votes']:.3f} when it counts votes."
        )
    if solved.plans.naive is not None and solved.plans.leader is not None:
        naive, leader = solved.plans.naive, solved.plans.leader
        gain = leader["compliance_gain"] - naive["compliance_gain"]
        lines.append(
            f"On the contest's grid, after the rival's response (compliance from neither event "
            f"sent): {solved.patron} ignoring the "
            f"rival's money {naive['compliance_gain']:+.2f}, anticipating it "
            f"{leader['compliance_gain']:+.2f} (expected yes {naive['expected_yes']:.1f} and "
            f"{leader['expected_yes']:.1f}); "
            + ("anticipation gains nothing here." if gain <= 1e-9 else f"it gains {gain:+.2f}.")
        )
    return lines


@app.command()
def explore(
    scenario: Annotated[
        Path,
        typer.Argument(
            metavar="SCENARIO",
            help="A scenario TOML file.",
        ),
    ] = Path("scenarios/icj_referral_2022.toml"),
    variant: VariantOption = None,
    draws: Annotated[
        int, typer.Option(min=1, help="Parameter draws behind every slider move.")
    ] = 1000,
    seed: SeedOption = 20221230,
    calibration: CalibrationOption = None,
    host: Annotated[
        str, typer.Option(help="Address to serve on (loopback: only this machine can open it).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8765,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in the default browser.")
    ] = False,
) -> None:
    """Explore SCENARIO in the browser: sliders for an offer's credibility and size, the value
    of support and a principal's weight; the followed member's odds with 5-95% intervals, the
    tally against the rule's threshold, every member's odds by regional group; Step plays the
    timeline round by round. With a [negotiation] section, the negotiate switch runs sim
    negotiate instead: Step plays one round of it and lists its exchanges.

    Serves Mesa's SolaraViz page at http://HOST:PORT/ until interrupted (Ctrl-C). Needs the
    explore extra: pip install -e '.[explore]'. Each setting lists the changes to the scenario
    file it amounts to: sim replay on the changed file gives the same odds. Writes nothing.
    """
    try:
        loaded = load_scenario(scenario)
        loaded.events(variant)  # the variant exists, before anything heavier
    except ScenarioError as exc:
        _fail(exc)
    try:  # an optional extra: imported where it is used, so the rest works without it
        from sim.run.explore import serve
    except ImportError as exc:
        need = "sim explore needs the explore extra: pip install -e '.[explore]'"
        _fail(DataError(f"{need} ({exc})"))
    try:
        url = f"http://{host}:{port}/"
        err_console.print(f"preparing {loaded.name} ({draws} draws), then serving {url}")
        if open_browser:
            import threading
            import webbrowser

            threading.Timer(3.0, webbrowser.open, args=(url,)).start()
        serve(
            scenario, variant=variant, draws=draws, seed=seed, calibration=calibration,
            host=host, port=port,
        )  # fmt: skip
    except (ScenarioError, DataError) as exc:
        _fail(exc)


@app.command()
def check(
    scenarios: Annotated[list[Path], typer.Argument(metavar="SCENARIO", help="Scenario files.")],
) -> None:
    """Validate scenario files without running them.

    With the roll-call data at hand (SIM_DATA_DIR, or `sim data fetch`'s cache), the roll calls
    a file names (item.like, previous.like, a committee symbol the record holds) are also
    looked up: each must be in the data and earlier than the resolution.
    """
    problems: list[Exception] = []
    loaded = []
    for path in scenarios:
        try:
            loaded.append((path, load_scenario(path)))
        except ScenarioError as exc:
            problems.append(exc)
    try:
        data_dir = resolve_data_dir() if loaded else None
    except DataError:
        data_dir = None
    try:
        data = load_roll_calls(data_dir) if data_dir is not None else None
    except DataError as exc:
        _fail(exc)
    against = f"; roll calls found in {data_dir}" if data is not None else ""
    for path, s in loaded:
        found = data_problems(s, data) if data is not None else []
        problems += [ScenarioError(line) for line in found]
        if not found:
            out_console.print(
                f"{path}: ok ({len(s.spec.events)} events, variants: {', '.join(s.variants)}"
                f"{against})"
            )
    if problems:
        _fail(ScenarioError("\n".join(str(p) for p in problems)))


@app.command()
def calibrate(
    scenarios: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="SCENARIO",
            help="Scenario files to calibrate (default: every file in scenarios/).",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Roll-call data folder (default: SIM_DATA_DIR, then the cache)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Bundle folder (default: the package's defaults).")
    ] = None,
) -> None:
    """Fit ideal points, items, participation and persistence for each scenario.

    Scenarios that name earlier episodes (calibration.episodes) also get the value of support
    and the evasion elasticity calibrated on those episodes' recorded votes; scenarios are
    calibrated oldest vote first, so an episode's bundle is fresh when it is used. Writes the
    embedded default (sim/defaults/calibration/SCENARIO/) that replays use.
    """
    paths = scenarios or sorted(Path("scenarios").glob("*.toml"))
    try:
        _check_run(out=out)
        # Oldest vote first: a scenario's episodes are calibrated before it.
        loaded = sorted((load_scenario(p) for p in paths), key=lambda s: s.spec.resolution.date)
        with err_console.status("loading roll calls..."):
            data = load_roll_calls(data_dir)
        for s in loaded:
            err_console.print(f"calibrating {s.name}...")
            members, meta = calibrate_scenario(s, data, progress=True, calibration=bundle_dir(out))
            folder = bundle_dir(out) / s.name
            write_bundle(members, meta, folder)
            p = meta["persistence"]
            line = (
                f"{s.name}: {meta['dimension']} {meta['window'][0]}..{meta['window'][1]}, "
                f"{meta['fit']['n_roll_calls']} roll calls, {meta['fit']['n_members']} members; "
                f"reversal {p['reversal']:.2f}, leave {p['leave']:.2f}, return {p['return']:.2f}"
            )
            if "deal" in meta:
                d = meta["deal"]
                line += (
                    f"; from {', '.join(d['episodes'])}: support value "
                    f"{d['support_value']['median']:.1f}, evasion {d['evasion']['median']:.2f}"
                )
            out_console.print(f"{line} -> {folder}/")
    except (ScenarioError, DataError) as exc:
        _fail(exc)


@app.command()
def forecast(
    like: Annotated[
        str | None,
        typer.Option(
            help="A roll call in the data on the same agenda item: A/RES/74/87 or rcid:9108."
        ),
    ] = None,
    title: Annotated[
        str | None,
        typer.Option(
            help="Instead of --like: the resolution's title. A title voted before (case, "
            "punctuation and the UN library's ': resolution / adopted by the General Assembly' "
            "aside) is that text's next vote; any other is a new text whose item is drawn from "
            "earlier first votes weighted by how alike their titles are (what `sim validate` "
            "scores)."
        ),
    ] = None,
    issue: Annotated[
        str,
        typer.Option(
            help="With --title: mix over this issue's earlier texts (me, nu, di, hr, co, ec), "
            "or all."
        ),
    ] = "all",
    date: Annotated[str | None, typer.Option(help="Date of the future vote, YYYY-MM-DD.")] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            help="CSV with columns name,date and like or title (optionally new_text, true or "
            "false, with like; issue with title): one forecast per row into OUT/NAME/."
        ),
    ] = None,
    new_text: Annotated[
        bool,
        typer.Option(
            "--new-text",
            help="The vote is on another text about LIKE's question (a new resolution, not "
            "this session's version of LIKE): its item is uncertain around LIKE's and members' "
            "acts on LIKE count as positions on another text.",
        ),
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: results/forecast/DATE_LIKE/).")
    ] = None,
    draws: Annotated[int, typer.Option(min=1, help="Parameter draws.")] = 1000,
    seed: Annotated[int, typer.Option(help="Root seed.")] = DEFAULT_SEED,
    focal: Annotated[
        str | None,
        typer.Option(
            help="Members to print and to list in summary.json, as ISO3 codes: UKR,RUS,IND "
            "(members.csv has every member)."
        ),
    ] = None,
    no_vote: Annotated[
        str | None,
        typer.Option(
            help="Members without a vote on that date (Charter Art. 19 arrears, as the "
            "Secretary-General's letter lists them), as ISO3 codes: VEN,GIN. They are absent "
            "with probability 1; the record cannot tell who has paid since."
        ),
    ] = None,
    years: Annotated[int, typer.Option(min=1, help="Calibration window in years.")] = 10,
    dimension: Annotated[
        str,
        typer.Option(help="all (every roll call), auto (the like roll call's issue), or an issue."),
    ] = "all",
    data_dir: Annotated[Path | None, typer.Option(help="Roll-call data folder.")] = None,
    dynamic: Annotated[
        bool, typer.Option("--dynamic", help="Ideal points that move over sessions.")
    ] = False,
    realign: Annotated[
        bool,
        typer.Option(
            help="Move each member's position on the text's issue group by its realignment at "
            "the window's end (a random walk of its offset over the sessions, as sim validate "
            "scores it; --no-realign: one position per member)."
        ),
    ] = True,
) -> None:
    """Forecast a future recorded vote like an earlier one, or by its title: every member's
    odds on that date.

    Fits the roll calls of the YEARS before the date (as far as the data reach), takes the item
    from LIKE and each member's act on LIKE as its previous public act (with --new-text, as its
    position on another text of the same question). With --title instead, a title voted before
    is forecast like its last vote; a new one draws its item from the window's first votes of
    texts, weighted by how alike the titles are. Writes members.csv
    (iso3,name,p_yes,p_no,p_abstain,p_absent first), tally.csv, summary.json and manifest.json.
    """
    from rich.progress import Progress

    if like is not None and title is not None:
        _fail(ScenarioError("--like, --title: give one of them (an earlier roll call, or the "
                            "resolution's title)"))  # fmt: skip
    if title is not None and new_text:
        _fail(ScenarioError("--new-text: a forecast by --title is read as a new text already "
                            "(or as the next vote of a text with that title)"))  # fmt: skip
    if issue not in DIMENSIONS:
        _fail(ScenarioError(f"--issue: expected all or an issue code; got {issue!r}"))
    single = like or title
    if (batch is None) == (single is None or date is None):
        _fail(ScenarioError("give either --like (or --title) and --date, or --batch FILE "
                            "--out DIR"))  # fmt: skip
    if batch is not None and new_text:
        _fail(ScenarioError("--new-text applies to one forecast; in a batch, set the new_text "
                            "column of each row"))  # fmt: skip
    if dimension not in ("auto", *DIMENSIONS):
        _fail(ScenarioError(f"--dimension: expected auto, all or an issue code; got {dimension!r}"))
    codes = tuple(c for c in (focal or "").replace(" ", "").split(",") if c)
    barred = tuple(c for c in (no_vote or "").replace(" ", "").split(",") if c)
    # What every forecast of this command shares (one, or each row of a batch).
    options: dict[str, Any] = {"n_draws": draws, "seed": seed, "focal": codes, "no_vote": barred}
    try:
        _check_run(draws, seed, out or Path("results"))
        rows = read_batch(batch) if batch is not None else None
        if rows is not None and out is None:
            raise ScenarioError("--batch needs --out DIR")
        if rows is None:  # member codes checked before the data are loaded
            check_members(str(date), focal=codes, no_vote=barred)
        with err_console.status("loading roll calls..."):
            data = load_roll_calls(data_dir)
        forecaster = Forecaster(
            data, years=years, dimension=dimension, dynamic=dynamic, realign=realign
        )
        if rows is not None:
            out = Path(str(out))  # given (checked above)
            with Progress(console=err_console) as bar:
                task = bar.add_task("forecasting", total=len(rows))
                forecast_batch(forecaster, rows, out, **options,
                               progress=lambda _row: bar.advance(task))  # fmt: skip
            out_console.print(f"{len(rows)} forecasts in {out}/<name>/")
            return
        date = str(date)  # given (checked above)
        if title is not None:
            with err_console.status(f"fitting and forecasting {title!r} on {date}..."):
                result = forecaster.forecast_title(title, date, issue=issue, **options)
            slug = "_".join(re.findall(r"[a-z0-9]+", title.lower()))[:60] or "title"
        else:
            like = str(like)  # given (checked above)
            with err_console.status(f"fitting and forecasting like {like} on {date}..."):
                result = forecaster.forecast(like, date, new_text=new_text, **options)
            slug = like.replace("/", "_")
        target = out or Path("results") / "forecast" / f"{date}_{slug}"
        result.write(target)
        _print_result(result, target)
    except (ScenarioError, DataError, ValueError) as exc:
        _fail(exc)


@app.command()
def validate(
    first: Annotated[int, typer.Option(help="First test year.")] = 2015,
    last: Annotated[int, typer.Option(help="Last test year.")] = 2022,
    window: Annotated[int, typer.Option(min=1, help="Years of roll calls per fit.")] = 10,
    dimension: Annotated[
        str, typer.Option(help="all, or an issue code (me, nu, di, hr, co, ec).")
    ] = "all",
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("results/validation"),
    data_dir: Annotated[Path | None, typer.Option(help="Roll-call data folder.")] = None,
    dynamic: Annotated[
        bool, typer.Option("--dynamic", help="Ideal points that move over sessions.")
    ] = False,
    lead: Annotated[
        int,
        typer.Option(
            min=1,
            help="Years ahead: each fit ends on 1 January of the test year minus LEAD - 1 "
            "(2: as for votes two years past the end of the data).",
        ),
    ] = 1,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Years fitted at once, each in its own process (same results for any).",
        ),
    ] = 2,
    attendance: Annotated[
        bool,
        typer.Option(
            help="Refit absence on the meeting (roll calls that day, part of the session, "
            "weekday, emergency session) and each member's record, fitted on the year before "
            "the cutoff (--no-attendance: the model's own absence).",
        ),
    ] = True,
    recent: Annotated[
        bool,
        typer.Option(
            help="With the attendance layer, each member's recent record of absence before the "
            "cutoff (the span of days chosen on the year before it) as one more feature; off "
            "by default (it lost out of sample, docs/validation.md).",
        ),
    ] = False,
    realign: Annotated[
        bool,
        typer.Option(
            help="Move each member's position on a text's issue group by a random walk of its "
            "offset over the window's sessions, the walk's sds chosen on the window's last "
            "session, as sim forecast does (--no-realign: one position per member).",
        ),
    ] = True,
) -> None:
    """Rolling-origin validation: fit on the years before each test year, predict its votes.

    Scores the model against uniform odds, base rates, FACTS.md's persistence matrix and each
    member's last vote on the same title (log-loss, Brier, accuracy, tally error). Writes
    scores.csv, predictions.csv.gz, calibration.png and absence.csv (predicted against observed
    absence by decile) to OUT. Each test year costs one window fit;
    --workers fits that many at once.
    """
    import gzip

    from rich.progress import Progress

    if dimension not in DIMENSIONS:
        _fail(ScenarioError(f"--dimension: expected all or an issue code; got {dimension!r}"))
    if last < first:
        _fail(ScenarioError(f"--last ({last}) must not be before --first ({first})"))
    try:
        _check_run(out=out)
        data = load_roll_calls(data_dir)
        years = range(first, last + 1)
        with Progress(console=err_console) as bar:
            task = bar.add_task("fitting and predicting", total=len(years))
            result = run_validation(
                data, years=years, window=window, dimension=dimension, dynamic=dynamic,
                lead=lead, progress=lambda _y: bar.advance(task), workers=workers,
                attendance=attendance, recent=recent, realign=realign,
            )  # fmt: skip
    except (ScenarioError, DataError) as exc:
        _fail(exc)
    scores = result.scores
    atomic_write_text(out / "scores.csv", scores.to_csv(index=False, float_format="%.6f",
                                                       lineterminator="\n"))  # fmt: skip
    csv_text = result.predictions.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    # zlib's level 6: a quarter of level 9's time for 4% more bytes
    packed = gzip.compress(csv_text.encode(), compresslevel=6, mtime=0)
    atomic_write_bytes(out / "predictions.csv.gz", packed)
    plot_calibration(result.predictions, out / "calibration.png",
                     methods=("model", "persistence", "base_rates"))  # fmt: skip
    deciles = absence_deciles(result.predictions)
    atomic_write_text(out / "absence.csv", deciles.to_csv(index=False, float_format="%.6f",
                                                         lineterminator="\n"))  # fmt: skip
    table = Table(title=f"Rolling-origin validation, {first}-{last} (log-loss; lower is better)")
    table.add_column("year")
    methods = list(dict.fromkeys(scores["method"]))
    for method in methods:
        table.add_column(method, justify="right")
    for year, rows in scores.groupby("year", sort=False):
        by = rows.set_index("method")["log_loss"]
        best = by.idxmin()
        table.add_row(str(year), *[
            f"[bold]{by[m]:.4f}[/]" if m == best else f"{by[m]:.4f}" for m in methods
        ])  # fmt: skip
    out_console.print(table)
    overall = scores[scores["year"] == "all"].set_index("method")
    worse = [m for m in methods if m != "model" and overall.loc[m, "log_loss"] <= overall.loc[
        "model", "log_loss"]]  # fmt: skip
    if worse:
        out_console.print(f"[yellow]the model does not beat {', '.join(worse)} on log-loss[/]")
    absence = absence_scores(result.predictions)
    out_console.print(
        f"absent member-votes: {absence['n_absent']:,}, model log-loss on them "
        f"{absence['absent_log_loss']:.4f}; attendance (absent or not) "
        f"{absence['attendance_log_loss']:.4f}"
    )
    out_console.print(
        f"written to {out}/ (scores.csv, predictions.csv.gz, calibration.png, absence.csv)"
    )


@app.command()
def episodes(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("results/episodes"),
    scenarios: Annotated[
        Path, typer.Option(help="Folder of episode scenarios (those with an [outcome]).")
    ] = Path("scenarios"),
    data_dir: Annotated[Path | None, typer.Option(help="Roll-call data folder.")] = None,
    draws: Annotated[int, typer.Option(min=1, help="Parameter draws per replay.")] = 2000,
    seed: Annotated[int, typer.Option(help="Root seed of every replay.")] = DEFAULT_SEED,
    attendance: Annotated[
        bool,
        typer.Option(
            help="Refit absence by each episode's attendance layer, fitted on the year before "
            "the vote's, features from the roll calls before its day. Off by default, as in "
            "sim replay: it lowers the absent members' log-loss but raises the mean per member "
            "in four of six episodes (docs/episodes.md).",
        ),
    ] = False,
) -> None:
    """Leave-one-episode-out: learn the deal on all episodes but one, replay that one, score it.

    The deal (value of support, evasion, readings of absence by kind of ask) is calibrated
    on every other episode whose roll call is in the data; the held-out one is replayed on
    pre-vote information and every member's recorded act is scored against the best of
    persistence, the committee's shares and base rates. Writes scores.csv, deals.json and per
    episode members.csv and acts.png to OUT. A few minutes per episode on 2 cores; the deals
    learnt are kept in OUT/deals/ and reused by a rerun on the same bundles.
    """
    try:
        data = load_roll_calls(data_dir)
        loaded = scenario_episodes(scenarios)
        scores = leave_one_out(
            loaded, data, n_draws=draws, seed=seed, cache=out / "deals", attendance=attendance,
            progress=lambda line: err_console.print(escape(line)),
        )  # fmt: skip
    except (ScenarioError, DataError) as exc:
        _fail(exc)
    table_df = scores_table(scores)
    atomic_write_text(out / "scores.csv", table_df.to_csv(index=False, float_format="%.4f",
                                                          lineterminator="\n"))  # fmt: skip
    write_json(out / "deals.json", {s.name: {**s.deal, "replay": {k: s.row[k] for k in (
        "tally", "interval90", "recorded", "covered", "attendance")}} for s in scores})  # fmt: skip
    for s in scores:
        folder = out / s.name
        atomic_write_text(folder / "members.csv", s.members.to_csv(
            index=False, float_format="%.6f", lineterminator="\n"))  # fmt: skip
        plot_episode_acts(s.members, folder / "acts.png", title=f"{s.name}: leave-one-out replay")
    table = Table(
        title="Leave-one-episode-out (mean log-loss per member; lower is better)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    headers = {  # short enough for 80 columns; scores.csv keeps the full names
        "episode": "episode", "members": "n", "log_loss": "log-\nloss", "baseline": "baseline",
        "baseline_log_loss": "its\nloss", "absent_members": "absent",
        "absent_log_loss": "absent\nloss", "tally_error": "tally\nerror",
    }  # fmt: skip
    for column in score_columns:
        left = column in ("episode", "baseline")
        header = headers[column]
        table.add_column(
            header,
            justify="left" if left else "right",
            no_wrap=left,
            min_width=max(len(line) for line in header.split("\n")),
        )
    for _, row in table_df.iterrows():
        table.add_row(*[
            f"{row[c]:.1f}" if c == "tally_error"
            else f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c])
            for c in score_columns
        ])  # fmt: skip
    out_console.print(table)
    out_console.print(f"written to {out}/ (scores.csv, deals.json, EPISODE/members.csv, acts.png)")


@data_app.command("fetch")
def data_fetch(
    source: Annotated[
        str,
        typer.Option(
            help="voeten: Voeten's 1946-2020 roll calls (the base of the record); un-library: "
            "the UN Library's voting data, added as an extension for the roll calls the record "
            "lacks (run voeten first)."
        ),
    ] = "voeten",
    dest: Annotated[
        Path | None, typer.Option(help="Where to put the data (default: the user cache).")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            help="voeten: base URL of the .rda files (default: the pinned commit); un-library: "
            "the CSV's URL (default: SIM_UN_LIBRARY_URL, else the release in "
            "sim.io.un_library.DEFAULT_URL)."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="un-library: leave out roll calls on or after this date (YYYY-MM-DD), e.g. "
            "2022-09-01 to keep the votes the validation holds out out of the record."
        ),
    ] = None,
) -> None:
    """Download roll calls, verify them and convert them into the loader's format.

    --source voeten (default) downloads the published 1946-2020 roll calls and checks their
    SHA-256. --source un-library downloads the UN Dag Hammarskjöld Library's General Assembly
    voting data (resumable), checks every roll call's totals against its rows, and writes the
    roll calls the record lacks (matched on symbol and date) to a folder
    `unvotes_<first>_<last>/` beside `unvotes/`, with issue codes predicted from their titles
    (marked predicted). Sources, terms and citations: docs/data.md.
    """
    if source not in ("voeten", "un-library"):
        _fail(DataError(f"--source: expected voeten or un-library; got {source!r}"))
    if until is not None and source != "un-library":
        _fail(DataError("--until: only with --source un-library"))
    if source == "voeten":
        try:
            kwargs = {"base_url": url} if url else {}
            folder = fetch(dest, progress=True, **kwargs)
        except DataError as exc:
            _fail(exc)
        out_console.print(f"roll calls ready in {folder}")
        return

    if until is not None:
        try:
            dt.date.fromisoformat(until)
        except ValueError:
            _fail(DataError(f"--until: expected a date YYYY-MM-DD; got {until!r}"))
    try:
        report = fetch_un_library(dest, url=url, until=until, progress=True)
    except DataError as exc:
        _fail(exc)
    already = ", ".join(f"{n} by {rule}" for rule, n in report.already.items() if n)
    out_console.print(
        f"{report.source.name}: {report.in_file} roll calls with votes; already in the record: "
        f"{sum(report.already.values())} ({already or 'none'})"
        + (f"; {report.after_until} on or after {until} left out" if until else "")
        + (f"; {report.no_votes} without member votes left out" if report.no_votes else ""),
        highlight=False,
    )
    if report.unknown_left_out:
        codes = ", ".join(f"{c} ({n})" for c, n in sorted(report.unknown_members.items()))
        err_console.print(
            f"[yellow]warning:[/] {report.unknown_left_out} roll calls left out: unknown member "
            f"codes {escape(codes)} (add them to sim.io.un_library.HISTORIC_ALPHA3)",
            highlight=False,
        )
    if report.folder is None:
        out_console.print("nothing added: no roll call the record lacks could be added")
        return
    first, last = pd_date(report.first), pd_date(report.last)
    out_console.print(
        f"added {report.added} roll calls, {first} to {last}, "
        f"{report.members} members, in {report.folder}",
        highlight=False,
    )
    if report.issue_scores is None:
        return
    table = Table(title="issue codes predicted (held out: the latest fifth of coded roll calls)")
    for column in ("code", "accuracy", "baseline", "F1", "trained on"):
        table.add_column(column, justify="left" if column == "code" else "right")
    for code, row in report.issue_scores.iterrows():
        table.add_row(
            str(code),
            f"{row.accuracy:.3f}",
            f"{row.baseline:.3f}",
            f"{row.f1:.3f}",
            f"{int(row.n_train)}",
        )
    out_console.print(table)


def pd_date(stamp: Any) -> str:
    """A timestamp's date as YYYY-MM-DD ("?" if missing)."""
    return "?" if stamp is None else str(stamp.date())


@data_app.command("check")
def data_check(
    data_dir: Annotated[Path | None, typer.Option(help="Roll-call data folder.")] = None,
) -> None:
    """Load the roll calls, verify checksums and print what is there.

    Loads unvotes/, then unvotes_2020_2022/ and any later extension in the same format (an
    unvotes_* folder with its SHA256SUMS), in name order.
    """
    try:
        data = load_roll_calls(data_dir)
        root = resolve_data_dir(data_dir)
    except DataError as exc:
        _fail(exc)
    rc = data.roll_calls
    out_console.print(
        f"{len(rc)} roll calls, {rc['date'].min().date()} to {rc['date'].max().date()}, "
        f"{len(data.votes)} member x roll-call rows; from {root}: "
        f"{', '.join(f'{p}/' for p in data_parts(root))}",
        highlight=False,
    )


def main() -> None:
    """Entry point of the ``sim`` console script: every command on one BLAS thread, so that its
    files do not depend on the machine's cores (:mod:`sim.core.threads`).
    """
    with one_blas_thread():
        app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
