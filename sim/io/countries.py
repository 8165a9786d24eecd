"""Country codes: the roll-call data's ISO 3166 alpha-2 codes -> the ISO3 key used everywhere.

Voeten's data (via the ``unvotes`` R package) label members by alpha-2 code and name. ``sim`` keys
every member by its ISO 3166-1 alpha-3 code (``"UKR"``). Current codes come from ``pycountry``; a
short table covers the historic codes and the rows without a code (README of ``shared/data``):

========================================  ======  ===========================================
data (code, country)                      iso3    note
========================================  ======  ===========================================
``CS`` Czechoslovakia                     CSK     withdrawn ISO code (until 1992)
``DD`` German Democratic Republic         DDR     withdrawn ISO code (1973-1990)
``YD`` Yemen People's Republic            YMD     South Yemen, withdrawn ISO code (until 1990)
``YU`` Yugoslavia                         SRB     see below
``""`` Federal Republic of Germany        DEU     West Germany; its seat continues as Germany
``""`` Yemen Arab Republic                YEM     North Yemen; its seat continues as Yemen
``""`` Zanzibar                           ZZB     not ISO: a placeholder (2 votes, 1964)
``TW`` Taiwan                             TWN     the China seat until 1971-10-07
``NA`` Namibia                            NAM     the pandas read trap: ``"NA"`` is not missing
========================================  ======  ===========================================

Yugoslavia: the data file Serbia as ``Yugoslavia`` / ``YU`` throughout: the Socialist Federal
Republic of Yugoslavia until 1992, then (after no rows 1993-1999) FR Yugoslavia, Serbia and
Montenegro and, from 2006, Serbia. We key that seat by its continuing member, ``SRB``, for the whole
period, so before 1992 ``SRB`` stands for SFR Yugoslavia, not for today's Serbia.

Examples
--------
>>> to_iso3("UA", "Ukraine"), to_iso3("NA", "Namibia"), to_iso3("", "Federal Republic of Germany")
('UKR', 'NAM', 'DEU')
>>> iso3_name("KOR"), iso3_name("USA"), iso3_name("SRB")
('South Korea', 'United States', 'Serbia')
"""

from __future__ import annotations

import functools
from typing import Final

import pycountry

from sim.io.errors import DataError

#: Historic or special alpha-2 codes (checked before pycountry).
HISTORIC_ALPHA2: Final[dict[str, str]] = {
    "CS": "CSK",  # Czechoslovakia (ISO withdrew CS in 1993; pycountry's current "CS" is unrelated)
    "DD": "DDR",  # German Democratic Republic
    "YD": "YMD",  # Yemen People's Republic (South Yemen)
    "YU": "SRB",  # Yugoslavia: keyed by the continuing member, Serbia (module docstring)
    "TW": "TWN",  # Taiwan (the China seat until 1971)
    "NA": "NAM",  # Namibia: the string "NA", which pandas reads as missing by default
}

#: Rows with an empty code, keyed by the data's country name.
NO_CODE: Final[dict[str, str]] = {
    "Federal Republic of Germany": "DEU",
    "Yemen Arab Republic": "YEM",
    "Zanzibar": "ZZB",  # not an ISO code: a documented placeholder
}

#: Short names where pycountry's common name is long or formal, and for codes it lacks.
NAME_OVERRIDES: Final[dict[str, str]] = {
    "BOL": "Bolivia",
    "BRN": "Brunei",
    "COD": "DR Congo",
    "CSK": "Czechoslovakia",
    "DDR": "East Germany",
    "FSM": "Micronesia",
    "IRN": "Iran",
    "KOR": "South Korea",
    "LAO": "Laos",
    "MDA": "Moldova",
    "PRK": "North Korea",
    "RUS": "Russia",
    "SYR": "Syria",
    "TUR": "Türkiye",
    "TWN": "Taiwan",
    "TZA": "Tanzania",
    "VEN": "Venezuela",
    "VNM": "Vietnam",
    "YMD": "South Yemen",
    "ZZB": "Zanzibar",
}


@functools.cache
def to_iso3(code2: str, country: str) -> str:
    """ISO 3166-1 alpha-3 key of a member from the data's alpha-2 code and country name.

    Parameters
    ----------
    code2 : str
        The ``country_code`` field: ISO alpha-2, a historic code (``CS``, ``DD``, ``YD``, ``YU``)
        or ``""`` (Federal Republic of Germany, Yemen Arab Republic, Zanzibar).
    country : str
        The ``country`` field; only used when `code2` is empty, and in error messages.

    Returns
    -------
    str
        Three upper-case letters, e.g. ``"UKR"``; ``"ZZB"`` for Zanzibar (not ISO).

    Raises
    ------
    DataError
        If the pair is unknown, e.g. an empty code with an unlisted name, or a NaN code (a file
        read without ``keep_default_na=False``, which turns Namibia's ``"NA"`` into NaN).

    Examples
    --------
    >>> to_iso3("YU", "Yugoslavia")
    'SRB'
    >>> to_iso3("XX", "Atlantis")
    Traceback (most recent call last):
    ...
    sim.io.errors.DataError: unknown country code 'XX' (country 'Atlantis'): not in ISO 3166 or sim.io.countries.HISTORIC_ALPHA2
    """  # noqa: E501
    if not isinstance(code2, str) or not isinstance(country, str):
        raise DataError(
            f"country code {code2!r} (country {country!r}) is not a string; read the CSV with "
            'dtype=str, keep_default_na=False so that Namibia\'s "NA" stays a string'
        )
    code = code2.strip().upper()
    if not code:
        try:
            return NO_CODE[country.strip()]
        except KeyError:
            raise DataError(
                f"empty country code for country {country!r}: not one of {sorted(NO_CODE)}"
            ) from None
    if code in HISTORIC_ALPHA2:
        return HISTORIC_ALPHA2[code]
    record = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if record is None:
        raise DataError(
            f"unknown country code {code2!r} (country {country!r}): not in ISO 3166 or "
            "sim.io.countries.HISTORIC_ALPHA2"
        )
    return str(record.alpha_3)


@functools.cache
def iso3_name(iso3: str) -> str:
    """Short common name of a member, for tables and plots.

    Parameters
    ----------
    iso3 : str
        An ISO 3166-1 alpha-3 code, or one of the historic/placeholder keys of this module.

    Returns
    -------
    str
        ``NAME_OVERRIDES`` if listed, else pycountry's ``common_name``, else its ``name``.
        ``SRB`` is ``"Serbia"`` even for the years it stands for Yugoslavia.

    Raises
    ------
    DataError
        If the code is unknown.

    Examples
    --------
    >>> iso3_name("UKR"), iso3_name("RUS"), iso3_name("VNM")
    ('Ukraine', 'Russia', 'Vietnam')
    """
    key = iso3.strip().upper()
    if key in NAME_OVERRIDES:
        return NAME_OVERRIDES[key]
    record = pycountry.countries.get(alpha_3=key) if len(key) == 3 else None
    if record is None:
        raise DataError(f"unknown ISO3 code {iso3!r}")
    return str(getattr(record, "common_name", None) or record.name)
