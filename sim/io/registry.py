"""Reference data about UN member states: membership, regional groups and blocs.

Pure pandas; reads the committed CSVs in ``sim/defaults/`` (see ``SOURCES.md`` there for
where each list comes from and its caveats).

Membership spells in ``blocs.csv`` are half-open intervals ``[joined, left)``: a state is a
member on ``joined`` and no longer a member on ``left`` (empty ``left`` = still a member on
2026-01-01). Only UN member states appear; observers such as Palestine are excluded.

Examples
--------
>>> len(load_members("2022-12-30"))
193
>>> "EU" in load_members("2019-01-01").loc["GBR", "blocs"]
True
>>> "EU" in load_members("2022-12-30").loc["GBR", "blocs"]
False
>>> len(bloc_members("NATO", "2023-04-04"))
31
"""

from __future__ import annotations

import datetime as dt
import io
from functools import lru_cache
from importlib import resources

import pandas as pd

__all__ = ["BLOCS", "UN_GROUPS", "bloc_members", "load_members", "membership_start"]

#: Blocs listed in ``sim/defaults/blocs.csv``.
BLOCS: tuple[str, ...] = (
    "EU",
    "NATO",
    "ArabLeague",
    "OIC",
    "AU",
    "NAM",
    "G77",
    "GCC",
    "CSTO",
    "LDC",
)

#: UN regional groups (the United States is counted in WEOG; see ``SOURCES.md``).
UN_GROUPS: tuple[str, ...] = ("African", "Asia-Pacific", "Eastern European", "GRULAC", "WEOG")

_DATE_FMT = "%Y-%m-%d"


def _read_csv(name: str) -> pd.DataFrame:
    text = resources.files("sim").joinpath("defaults", name).read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def _members_table() -> pd.DataFrame:
    df = _read_csv("members.csv")
    df["admitted"] = pd.to_datetime(df["admitted"], format=_DATE_FMT)
    return df.set_index("iso3").sort_index()


@lru_cache(maxsize=1)
def _blocs_table() -> pd.DataFrame:
    df = _read_csv("blocs.csv")
    df["joined"] = pd.to_datetime(df["joined"], format=_DATE_FMT)
    df["left"] = pd.to_datetime(df["left"].where(df["left"] != ""), format=_DATE_FMT)
    return df


def _as_timestamp(on: dt.date | str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(on)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a date: {on!r} (expected an ISO date such as '2022-12-30')") from exc
    if pd.isna(ts):
        raise ValueError(f"not a date: {on!r} (expected an ISO date such as '2022-12-30')")
    return ts.normalize()


def _check_bloc(bloc: str) -> None:
    if bloc not in BLOCS:
        raise ValueError(f"unknown bloc {bloc!r}; known blocs: {', '.join(BLOCS)}")


def _active_spells(ts: pd.Timestamp) -> pd.DataFrame:
    b = _blocs_table()
    active = (b["joined"] <= ts) & (b["left"].isna() | (b["left"] > ts))
    return b.loc[active, ["bloc", "iso3"]]


def load_members(on: dt.date | str) -> pd.DataFrame:
    """UN member states on a date, with their regional group and blocs.

    Parameters
    ----------
    on : datetime.date or str
        The date (ISO string, ``datetime.date``/``datetime`` or ``pandas.Timestamp``); a time of
        day is ignored.

    Returns
    -------
    pandas.DataFrame
        Indexed by ISO 3166-1 alpha-3 code (``iso3``, sorted), one row per state admitted to the
        UN on or before ``on``, with columns ``name`` (short English name), ``un_group`` (one of
        :data:`UN_GROUPS`), ``admitted`` (``datetime64``) and ``blocs`` (a tuple of the bloc names
        in :data:`BLOCS` order whose membership spell covers ``on``). A fresh frame each call.

    Raises
    ------
    ValueError
        If ``on`` is not a date.

    Examples
    --------
    >>> len(load_members("2011-07-13")), len(load_members("2011-07-15"))
    (192, 193)
    >>> load_members("2024-06-01").loc["SWE", "blocs"]
    ('EU', 'NATO')
    """
    ts = _as_timestamp(on)
    members = _members_table()
    out = members.loc[members["admitted"] <= ts].copy()
    spells = _active_spells(ts)
    order = {name: i for i, name in enumerate(BLOCS)}
    by_state: dict[str, list[str]] = {}
    for bloc, iso3 in spells.itertuples(index=False):
        by_state.setdefault(iso3, []).append(bloc)
    out["blocs"] = [
        tuple(sorted(set(by_state.get(iso3, ())), key=order.__getitem__)) for iso3 in out.index
    ]
    return out


def bloc_members(bloc: str, on: dt.date | str) -> tuple[str, ...]:
    """ISO3 codes (sorted) of the UN member states in ``bloc`` on a date.

    Only states that are UN members on ``on`` are returned (e.g. Kiribati's LDC status before
    its 1999 UN admission is not).

    Parameters
    ----------
    bloc : str
        One of :data:`BLOCS`.
    on : datetime.date or str
        The date, as for :func:`load_members`.

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        If ``bloc`` is unknown (the message lists the known ones) or ``on`` is not a date.

    Examples
    --------
    >>> bloc_members("GCC", "2020-01-01")
    ('ARE', 'BHR', 'KWT', 'OMN', 'QAT', 'SAU')
    >>> "SYR" in bloc_members("ArabLeague", "2015-01-01")
    False
    """
    _check_bloc(bloc)
    ts = _as_timestamp(on)
    members = _members_table()
    un = set(members.index[members["admitted"] <= ts])
    spells = _active_spells(ts)
    return tuple(sorted(set(spells.loc[spells["bloc"] == bloc, "iso3"]) & un))


def membership_start() -> dt.date:
    """The first date in the membership table: the earliest admission (the UN's founding).

    Before it no state is a member, so a scenario dated earlier names no member.

    Examples
    --------
    >>> membership_start()
    datetime.date(1945, 10, 24)
    """
    return _members_table()["admitted"].min().date()
