"""Bad input, as a new user meets it: each is refused with one line naming the file and the key
(or the option), exit code 2, no traceback and nothing written.

Every malformed file is made here from a shipped scenario; none is committed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.io.errors import ScenarioError
from sim.io.scenario import (
    IDENT_MAX_LENGTH,
    MAX_ERRORS,
    MAX_FILE_BYTES,
    load_scenario,
    parse_scenario,
)
from sim.run import sweep as sweep_module
from sim.run.forecast import read_batch
from sim.run.sweep import Sweep, grid_from_assignments, run_sweep

ROOT = Path(__file__).resolve().parents[1]
ICJ = ROOT / "scenarios" / "icj_referral_2022.toml"
TEXT = ICJ.read_text(encoding="utf-8")


def mutate(old: str, new: str, text: str = TEXT) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def write(tmp_path: Path, text: str | bytes, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def sim(*args: object) -> tuple[int, list[str]]:
    """Run the command line in this process: its exit code and the non-blank lines of stderr."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, [line for line in result.stderr.splitlines() if line.strip()]


def refused(*args: object) -> str:
    """Run a command that must be refused; return its one line of error."""
    code, lines = sim(*args)
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value).splitlines()


# --------------------------------------------------------------------------- 4. no path escapes
def escaping_names(tmp_path: Path) -> dict[str, str]:
    return {
        "absolute": str(tmp_path / "evil_out"),
        "absolute_tmp": "/tmp/evil_out",  # noqa: S108 (only loaded: refused before any write)
        "relative": "../../escaped",
        "relative_deep": "../../../../../tmp/x",
        "fullwidth_solidus": "\uff0e\uff0e\uff0fescaped",  # looks like ../escaped
        "nul": "no\x00call",
        "trailing_newline": "no_call\n",
        "dotted": "no.call",
        "non_ascii_letter": "caf\u00e9",
        "too_long": "a" * 300,
    }


NAMES = [
    "absolute",
    "absolute_tmp",
    "relative",
    "relative_deep",
    "fullwidth_solidus",
    "nul",
    "trailing_newline",
    "dotted",
    "non_ascii_letter",
    "too_long",
]


def toml_key(name: str) -> str:
    return json.dumps(name)  # a TOML basic string: quotes and \\u escapes as JSON writes them


@pytest.mark.parametrize("case", NAMES)
def test_a_variant_name_that_is_not_an_identifier_is_refused_at_load(case, tmp_path):
    name = escaping_names(tmp_path)[case]
    bad = write(tmp_path, mutate("[variants.no_call]", f"[variants.{toml_key(name)}]"))
    lines = problems(bad)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{bad}: variants.")
    assert "'^[a-z][a-z0-9_]*$'" in lines[0]


def test_replaying_every_variant_of_a_file_with_escaping_names_writes_nothing(
    tmp_path, monkeypatch
):
    """Into results/ (the default) or --out, an escaping name would land beside them."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # results/ is work/results; ../../../escaped is tmp_path/escaped
    for name in (str(tmp_path / "evil_out"), "../../../escaped"):
        bad = write(tmp_path, mutate("[variants.no_call]", f"[variants.{toml_key(name)}]"))
        for out in ([], ["--out", work / "out"]):
            line = refused("replay", bad, "--all-variants", "--draws", 5, *out)
            assert line.startswith(f"error: {bad}: variants.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "work"]
    assert list(work.iterdir()) == []


def test_bargaining_under_an_escaping_variant_name_writes_nothing(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    bad = write(tmp_path, mutate("[variants.firm_commitment]", '[variants."../../../escaped"]'))
    line = refused(
        "bargain", bad, "--variant", "../../../escaped", "--event", "netanyahu_call",
        "--target", "UKR", "--draws", 5,
    )  # fmt: skip
    assert line.startswith(f"error: {bad}: variants.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "work"]
    assert list(work.iterdir()) == []


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('name = "icj_referral_2022"', f'name = "{"a" * 300}"', "name"),
        ('name = "icj_referral_2022"', 'name = "../icj"', "name"),
        ('id = "lapid_letters"', 'id = "/tmp/lapid"', "events[4]"),
        ('default_variant = "as_happened"', 'default_variant = "as/happened"', "default_variant"),
    ],
    ids=["long_name", "relative_name", "absolute_event_id", "default_variant"],
)
def test_every_name_that_becomes_a_path_is_an_identifier(old, new, key, tmp_path):
    bad = write(tmp_path, mutate(old, new))
    line = refused("replay", bad, "--draws", 5, "--out", tmp_path / "out")
    assert line.startswith(f"error: {bad}: {key}")
    assert not (tmp_path / "out").exists()


def test_names_up_to_the_cap_are_accepted():
    name = "v" * IDENT_MAX_LENGTH
    scenario = parse_scenario(mutate("[variants.no_call]", f"[variants.{name}]").encode())
    assert name in scenario.variants
    with pytest.raises(ScenarioError, match=f"{IDENT_MAX_LENGTH + 1} characters"):
        parse_scenario(mutate("[variants.no_call]", f"[variants.{name}v]").encode())


# --------------------------------------------------------------------------- 5. no tracebacks
def test_deeply_nested_toml_is_an_error_not_a_recursion_error(tmp_path):
    depth = 100_000
    bad = write(tmp_path, TEXT + "\nnested = " + "[" * depth + "]" * depth + "\n")
    for command in ("check", "replay"):
        line = refused(command, bad, *(["--out", tmp_path / "out"] * (command != "check")))
        assert str(bad) in line
        assert "nested too deeply" in line
    assert not (tmp_path / "out").exists()


def test_a_prior_whose_spread_overflows_the_draws_is_refused_at_load(tmp_path):
    prior = '[model]\nbloc_shock_sd = { dist = "lognormal", median = 1.0, sigma = 1000.0 }\n'
    bad = write(tmp_path, mutate("\n[outcome]\n", f"\n{prior}\n[outcome]\n"))
    line = refused("replay", bad, "--draws", 5, "--out", tmp_path / "out")
    assert f"{bad}: model.bloc_shock_sd: sigma" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "prior",
    [
        "support_value = 1e300",
        'support_value = { dist = "uniform", low = 0, high = 1e308 }',
        'evasion = { dist = "lognormal", median = 1e300, sigma = 1 }',
        'bloc_shock_sd = { dist = "normal", mean = 1e6, sd = 1 }',
    ],
)
def test_priors_far_past_certainty_are_refused_at_load(prior, tmp_path):
    bad = write(tmp_path, mutate("\n[outcome]\n", f"\n[model]\n{prior}\n\n[outcome]\n"))
    (line,) = problems(bad)
    assert line.startswith(f"{bad}: model.{prior.split()[0]}: ")
    assert "keeps its draws finite" in line


def test_a_negative_seed_is_refused_naming_the_option(tmp_path):
    out = tmp_path / "out"
    for command in (["replay", ICJ], ["bargain", ICJ, "--event", "netanyahu_call", "--target",
                                      "UKR"]):  # fmt: skip
        line = refused(*command, "--seed", -1, "--draws", 5, "--out", out)
        assert "--seed" in line
        assert "-1" in line
    assert not out.exists()


def test_more_draws_than_memory_holds_are_refused_before_allocating(tmp_path):
    out = tmp_path / "out"
    line = refused("replay", ICJ, "--draws", 1_000_000_000, "--out", out)
    assert "--draws" in line
    assert "GiB" in line
    line = refused(
        "sweep", ICJ, "--set", "model.support_value=1,2", "--draws", 1_000_000_000, "--out", out
    )
    assert "--draws" in line
    assert not out.exists()


def test_an_out_that_is_a_file_or_under_one_is_refused_before_the_run(tmp_path):
    a_file = write(tmp_path, "keep me", name="a_file")
    for out in (a_file, a_file / "sub"):
        line = refused("replay", ICJ, "--draws", 5, "--out", out)
        assert line.startswith(f"error: --out: {out}")
        assert "not a folder" in line
    line = refused("validate", "--out", a_file / "validation")
    assert "--out" in line
    assert a_file.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_an_empty_point_file_left_by_a_crash_is_rerun_on_resume(tmp_path, monkeypatch):
    plan = Sweep(
        scenario=ICJ,
        grid=grid_from_assignments(["events.netanyahu_call.offer.credibility=0,firm"]),
        draws=20,
        seed=3,
    )
    points, _ = run_sweep(plan, tmp_path)
    first = (tmp_path / "points.csv").read_bytes()
    (tmp_path / "points" / "0001.json").write_bytes(b"")  # a crash between create and write
    ran: list[int] = []
    real = sweep_module._replay_point
    monkeypatch.setattr(sweep_module, "_replay_point", lambda i, *a: ran.append(i) or real(i, *a))
    again, _ = run_sweep(plan, tmp_path)
    assert ran == [1]
    assert (tmp_path / "points.csv").read_bytes() == first
    assert again.equals(points)


def test_a_scenario_file_is_read_only_up_to_a_cap(tmp_path):
    big = write(tmp_path, TEXT + "\n" + "#" * MAX_FILE_BYTES + "\n", name="big.toml")
    line = refused("check", big)
    assert str(big) in line
    assert "larger than" in line
    if Path("/dev/zero").exists():
        line = refused("check", "/dev/zero")
        assert "/dev/zero" in line
        assert "larger than" in line


# --------------------------------------------------------------------------- 6. accepted today
ADDED = (
    '[[variants.no_call.add]]\nid = "lapid_letters"\ndate = 2022-11-28\nkind = "note"\n'
    'source = "a cited source"\n\n[variants.firm_commitment]'
)
ACCEPTED_TODAY = {
    "blank source": (
        ('source = "Axios (Barak Ravid), 31 Dec 2022"', 'source = "   "'),
        "events[6] (netanyahu_call).source: ",
    ),
    "added event reuses an id": (
        ("[variants.firm_commitment]", ADDED),
        "variants.no_call.add[0].id: event id 'lapid_letters' is taken",
    ),
    "outcome names a non-member": (
        ('acts = { UKR = "absent" }', 'acts = { UKR = "absent", XYZ = "yes" }'),
        "outcome.acts.XYZ: expected the ISO3 code of a UN member",
    ),
    "date before the membership table": (
        ("date = 2022-12-30\ndimension", "date = 1900-01-01\ndimension"),
        "resolution.date: expected a date on or after 1945-10-24",
    ),
    "misspelled key in a patch": (
        ('{ offer = { credibility = "firm" } }', '{ offer = { credibilty = "firm" } }'),
        "variants.firm_commitment.patch.netanyahu_call.offer.credibilty: unknown key",
    ),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED_TODAY))
def test_input_accepted_until_now_is_refused_with_one_line(case, tmp_path):
    (old, new), key = ACCEPTED_TODAY[case]
    bad = write(tmp_path, mutate(old, new))
    line = refused("replay", bad, "--draws", 5, "--out", tmp_path / "out")
    assert line.startswith(f"error: {bad}: {key}")
    assert not (tmp_path / "out").exists()


def test_an_event_the_variant_drops_may_come_back_under_its_id():
    text = mutate("[variants.firm_commitment]", ADDED)
    text = mutate(
        'drop = ["netanyahu_call", "zelensky_counter_ask"]', 'drop = ["lapid_letters"]', text
    )
    events = parse_scenario(text.encode()).events("no_call")
    assert [e.kind for e in events if e.id == "lapid_letters"] == ["note"]


def test_a_byte_order_mark_is_accepted(tmp_path):
    with_bom = write(tmp_path, b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    assert load_scenario(with_bom).spec == load_scenario(ICJ).spec
    code, lines = sim("check", with_bom)
    assert code == 0, lines


def test_the_list_of_errors_is_capped_with_a_count_of_the_rest(tmp_path):
    n = 5000
    unknown = "".join(f"key_{i} = 1\n" for i in range(n))
    bad = write(tmp_path, mutate("[members.VEN]\n", f"[members.VEN]\n{unknown}"))
    code, lines = sim("check", bad)
    assert code == 2
    assert len(lines) == MAX_ERRORS + 1
    assert all(str(bad) in line for line in lines)
    assert lines[-1].endswith(f"... and {n - MAX_ERRORS:,} more problems")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a" * 300, "name: expected a folder name"),
        ("../up", "name"),
        ("a\x00b", "name: expected a folder name"),
    ],
    ids=["long", "relative", "nul"],
)
def test_a_forecast_batch_name_is_a_short_folder_name(name, expected, tmp_path):
    batch = write(tmp_path, f"name,date,like\n{name},2023-01-01,A/RES/75/98\n", name="b.csv")
    with pytest.raises(ScenarioError, match=expected) as info:
        read_batch(batch)
    assert str(info.value).startswith(f"{batch}: ")
