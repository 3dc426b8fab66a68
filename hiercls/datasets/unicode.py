"""Unicode character names from Python's :mod:`unicodedata`, labelled by category."""

from __future__ import annotations

import sys
import unicodedata

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._bunch import make_bunch, support_summary
from ._checks import check_int

__all__ = ["load_unicodedata"]


def load_unicodedata(*, max_code_point: int | None = None) -> Bunch:
    """Load Python's Unicode character table as a two-level text classification task.

    One row per code point that has a descriptive name in :mod:`unicodedata`. The
    text feature is the character's name (``"LATIN SMALL LETTER A"``); the label
    path is its major category (``"L"``) then its general category (``"Ll"``).
    Nothing is downloaded or cached: the table ships with Python.

    Code points without a name (controls, surrogates, private use, unassigned) are
    left out, and so are characters whose name is only generated from the code
    point (``"CJK UNIFIED IDEOGRAPH-4E00"``, Hangul syllables), which would make
    one class out of 100,000 near-identical rows. With Unicode 14.0 this leaves
    32,647 rows, 7 major and 26 general categories, from 1 row (``Zl``, ``Zp``) to
    15,283 rows (``Lo``) per leaf. No third level is added: the natural candidate,
    the first word of the name (the script), is part of the text itself.

    Parameters
    ----------
    max_code_point : int or None, default=None
        Keep code points up to this value only (e.g. ``0x2FFF`` for a quick
        smoke test); ``None`` keeps them all.

    Returns
    -------
    data : Bunch
        ``data`` (DataFrame with the text column ``"name"``, indexed by code
        point), ``target`` (DataFrame with columns ``"major_category"`` and
        ``"general_category"``), ``feature_names``, ``level_names``,
        ``text_column`` (``"name"``) and ``DESCR``.

    Examples
    --------
    >>> from hiercls.datasets import load_unicodedata
    >>> bunch = load_unicodedata(max_code_point=0x7F)
    >>> bunch.data.loc[0x61, "name"], tuple(bunch.target.loc[0x61])
    ('LATIN SMALL LETTER A', ('L', 'Ll'))
    """
    func = "load_unicodedata"
    if max_code_point is None:
        max_code_point = sys.maxunicode
    max_code_point = check_int(func, "max_code_point", max_code_point, 0, sys.maxunicode)
    code_points, names, categories = [], [], []
    for code_point in range(max_code_point + 1):
        name = unicodedata.name(chr(code_point), None)
        if name is None or name.endswith(f"-{code_point:04X}") or name.startswith("HANGUL SYL"):
            continue
        code_points.append(code_point)
        names.append(name)
        categories.append(unicodedata.category(chr(code_point)))
    index = pd.Index(code_points, name="code_point", dtype=np.int64)
    data = pd.DataFrame({"name": names}, index=index)
    target = pd.DataFrame(
        {"major_category": [c[0] for c in categories], "general_category": categories},
        index=index,
        dtype=object,
    )
    descr = (
        f"Unicode {unicodedata.unidata_version} character names from Python's unicodedata "
        f"(code points 0..{max_code_point:#x}).\n"
        "Text: the character name. Levels: major category -> general category.\n"
        "Left out: code points without a name and names generated from the code point "
        "(CJK ideographs, Hangul syllables, ...).\n" + support_summary(target)
    )
    return make_bunch(data, target, text_column="name", descr=descr)
