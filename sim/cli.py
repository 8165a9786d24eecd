"""The ``sim`` command line: replay an episode, calibrate, fetch data.

Parse, call the library, print; nothing else lives here. Bad scenario files and missing data end
with a one-line message per problem on stderr and exit code 2, and write nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sim.acts import ACTS
from sim.errors import DataError, ScenarioError

app = typer.Typer(
    help=(
        "Vote trading for security support in the UN General Assembly.\n\n"
        "Replay an episode (a scenario file) to get every member's odds of yes, no, abstain "
        "or absent, the exact distribution of the tally and the probability of adoption."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="The UNGA roll-call data: fetch and check.", no_args_is_help=True)
app.add_typer(data_app, name="data")

out_console = Console()
err_console = Console(stderr=True)

ScenarioArg = Annotated[
    Path, typer.Argument(help="A scenario TOML file, e.g. scenarios/icj_referral_2022.toml.")
]


def _fail(exc: Exception) -> None:
    for line in str(exc).splitlines():
        err_console.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@app.command()
def replay(
    scenario: ScenarioArg,
    variant: Annotated[
        str | None, typer.Option(help="Variant to run (default: the scenario's default).")
    ] = None,
    draws: Annotated[
        int, typer.Option(min=1, help="Parameter draws; each gives exact odds for every member.")
    ] = 4000,
    seed: Annotated[int, typer.Option(help="Root seed (same seed, same bytes).")] = 20221230,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: results/<scenario>/<variant>/)."),
    ] = None,
    calibration: Annotated[
        Path | None,
        typer.Option(help="Folder of calibration bundles (default: the committed ones)."),
    ] = None,
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
) -> None:
    """Replay SCENARIO: print the focal members' odds, the expected tally and the pass odds.

    Writes members.csv, tally.csv, rounds.csv, summary.json and manifest.json to the output
    folder, atomically.
    """
    from sim.replay import replay as run_replay
    from sim.scenario import load_scenario

    try:
        loaded = load_scenario(scenario)
        names = list(loaded.variants) if all_variants else [variant or loaded.spec.default_variant]
        for name in names:
            loaded.events(name)  # validates the variant name before any work
        results = []
        for name in names:
            with err_console.status(f"replaying {loaded.name} / {name} ({draws} draws)..."):
                result = run_replay(
                    loaded, variant=name, n_draws=draws, seed=seed, calibration=calibration
                )
            target = out if (out is not None and not all_variants) else None
            if target is None:
                base = out if out is not None else Path("results")
                target = base / loaded.name / name
            result.write(target, plots=plots)
            _print_result(result, target)
            results.append(result)
        if all_variants and plots and loaded.spec.focal:
            from sim.plots import plot_variants

            iso3 = loaded.spec.focal[0]
            base = out if out is not None else Path("results")
            path = base / loaded.name / f"variants_{iso3}.png"
            plot_variants(results, iso3, path)
            out_console.print(f"{iso3}'s odds by variant: {path}")
    except (ScenarioError, DataError) as exc:
        _fail(exc)


def _print_result(result: object, target: Path) -> None:
    from sim.replay import ReplayResult

    assert isinstance(result, ReplayResult)  # noqa: S101 (narrowing for the type checker)
    s = result.setup
    spec = s.scenario.spec
    out_console.rule(
        f"[bold]{spec.resolution.symbol}[/] {spec.resolution.date} · variant "
        f"[bold]{s.variant}[/] · {s.n_draws} draws · seed {s.seed}"
    )
    table = Table(title="Focal members: probability of each act (mean over draws)")
    table.add_column("member")
    for act in ACTS:
        table.add_column(act, justify="right")
    table.add_column("most likely")
    members = result.members.set_index("iso3")
    for iso3 in s.focal:
        row = members.loc[iso3]
        best = result.most_likely(iso3)
        cells = []
        for act in ACTS:
            text = f"{row[f'p_{act}']:.3f}"
            cells.append(f"[bold]{text}[/]" if act == best else text)
        table.add_row(f"{iso3} {row['name']}", *cells, best)
    out_console.print(table)
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
    for ask in result.counter_asks:
        out_console.print(
            f"counter-ask {ask['date']}: {ask['member']} asks {ask['asks']} for {ask['for']}"
        )
    for note in s.notes:
        out_console.print(f"[yellow]note:[/] {note}")
    out_console.print(f"written to {target}/")


@app.command()
def check(scenarios: Annotated[list[Path], typer.Argument(help="Scenario files.")]) -> None:
    """Validate scenario files without running them."""
    from sim.scenario import load_scenario

    problems = []
    for path in scenarios:
        try:
            s = load_scenario(path)
            out_console.print(
                f"{path}: ok ({len(s.spec.events)} events, variants: {', '.join(s.variants)})"
            )
        except ScenarioError as exc:
            problems.append(exc)
    if problems:
        _fail(ScenarioError("\n".join(str(p) for p in problems)))


@app.command()
def calibrate(
    scenarios: Annotated[
        list[Path] | None,
        typer.Argument(help="Scenario files to calibrate (default: every file in scenarios/)."),
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

    Writes the embedded default (sim/defaults/calibration/<scenario>/) that replays use.
    """
    from sim.data import load_roll_calls
    from sim.embedded import bundle_dir, calibrate_scenario, write_bundle
    from sim.scenario import load_scenario

    paths = scenarios or sorted(Path("scenarios").glob("*.toml"))
    try:
        loaded = [load_scenario(p) for p in paths]
        with err_console.status("loading roll calls..."):
            data = load_roll_calls(data_dir)
        for s in loaded:
            with err_console.status(f"calibrating {s.name}..."):
                members, meta = calibrate_scenario(s, data)
            folder = bundle_dir(out) / s.name
            write_bundle(members, meta, folder)
            p = meta["persistence"]
            out_console.print(
                f"{s.name}: {meta['dimension']} {meta['window'][0]}..{meta['window'][1]}, "
                f"{meta['fit']['n_roll_calls']} roll calls, {meta['fit']['n_members']} members; "
                f"reversal {p['reversal']:.2f}, leave {p['leave']:.2f}, return {p['return']:.2f} "
                f"-> {folder}/"
            )
    except (ScenarioError, DataError) as exc:
        _fail(exc)


@data_app.command("fetch")
def data_fetch(
    dest: Annotated[
        Path | None, typer.Option(help="Where to put the data (default: the user cache).")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Base URL of the .rda files (default: the pinned commit).")
    ] = None,
) -> None:
    """Download the published 1946-2020 roll calls, verify their SHA-256 and convert them."""
    from sim.data import fetch

    try:
        kwargs = {"base_url": url} if url else {}
        folder = fetch(dest, progress=True, **kwargs)
    except DataError as exc:
        _fail(exc)
    out_console.print(f"roll calls ready in {folder}")


@data_app.command("check")
def data_check(
    data_dir: Annotated[Path | None, typer.Option(help="Roll-call data folder.")] = None,
) -> None:
    """Load the roll calls, verify checksums and print what is there."""
    from sim.data import load_roll_calls

    try:
        data = load_roll_calls(data_dir)
    except DataError as exc:
        _fail(exc)
    rc = data.roll_calls
    out_console.print(
        f"{len(rc)} roll calls, {rc['date'].min().date()} to {rc['date'].max().date()}, "
        f"{len(data.votes)} member x roll-call rows"
    )


def main() -> None:
    """Entry point of the ``sim`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
