"""The output directory: numbered parts, the manifest that makes a run resumable, the lock.

``_manifest.json`` ties the parts to the input file, the model and the output
settings; :func:`open_output` refuses to mix the outputs of two jobs, and
``Run`` records every part written (and re-counts the intact parts of an earlier
run) so that a run that is killed continues from the first missing part.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import pickle
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .._atomic import write_json, write_table
from ..exceptions import OutputConflictError
from ._job import Job, short_list
from ._summary import Tally, tally_table
from .files import DataFile, file_identity

logger = logging.getLogger("hiercls.batch")

# A leading "_" (like "." for temporary parts) makes Arrow, pandas and Dask skip these
# files when the output directory is read as one data set.
MANIFEST_FILE = "_manifest.json"
SUMMARY_FILE = "_summary.json"
_LOCK_FILE = ".hiercls-predict.lock"
_MANIFEST_KIND = "hiercls-batch-output"
_MANIFEST_VERSION = 1
_PART_PREFIX = "part-"


def part_name(index: int, output_format: str) -> str:
    return f"{_PART_PREFIX}{index:06d}.{output_format}"


def model_fingerprint(model: Any) -> str:
    """SHA-256 of the model's pickle, streamed (no copy of a large model in memory)."""

    class _Digest:
        def __init__(self) -> None:
            self.sha = hashlib.sha256()

        def write(self, data: Any) -> int:
            view = memoryview(data)  # protocol 5 hands large arrays over as PickleBuffer
            self.sha.update(view)
            return view.nbytes

    sink = _Digest()
    pickle.Pickler(sink, protocol=5).dump(model)
    return sink.sha.hexdigest()


def job_identity(
    data_file: DataFile, model_fingerprint: str, hierarchy: str, job: Job, layout: dict[str, Any]
) -> dict[str, Any]:
    return {
        "input": {**file_identity(data_file.path), "format": data_file.format},
        "model": {"fingerprint": model_fingerprint, "hierarchy_fingerprint": hierarchy},
        "output": {
            "format": job.output_format,
            "columns": job.output_schema.names,
            "top_k": job.top_k,
            "explain": job.explain,
            "features": list(job.features),
        },
        "layout": layout,
    }


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    found = []
    old_input, new_input = old.get("input", {}), new["input"]
    if old_input.get("path") != new_input["path"]:
        found.append(f"input file '{old_input.get('path')}' -> '{new_input['path']}'")
    else:
        for key in ("size", "mtime_ns", "ends_sha256"):
            if old_input.get(key) != new_input[key]:
                found.append(
                    f"input file changed since the parts were written ({key} "
                    f"{old_input.get(key)} -> {new_input[key]})"
                )
                break
    old_model, new_model = old.get("model", {}), new["model"]
    if old_model.get("hierarchy_fingerprint") != new_model["hierarchy_fingerprint"]:
        found.append("a model with another class tree (hierarchy fingerprint differs)")
    elif old_model.get("fingerprint") != new_model["fingerprint"]:
        found.append(
            f"another model (fingerprint {str(old_model.get('fingerprint'))[:12]}... -> "
            f"{new_model['fingerprint'][:12]}...)"
        )
    for section in ("output", "layout"):
        old_part, new_part = old.get(section, {}), new[section]
        for key in sorted(set(old_part) | set(new_part)):
            if old_part.get(key) != new_part.get(key):
                found.append(f"{section} setting {key}: {old_part.get(key)!r} -> {new_part.get(key)!r}")
    return found


# Exactly the names a job writes: numbered parts, the manifest and summary, and their
# hidden temporary files (hiercls._atomic's writes). A user's "part-notes.txt" or an
# input file named "part-input.parquet" never matches.
_JOB_FILE = r"(?:part-\d{6}\.(?:parquet|csv)|_manifest\.json|_summary\.json)"
_OUR_NAMES = re.compile(rf"^{_JOB_FILE}$|^\.{_JOB_FILE}\.[0-9A-Za-z]+\.tmp$")


def _our_files(directory: Path, protected: Path | None = None) -> list[Path]:
    """Files of ``directory`` that a batch job writes, never ``protected`` (the job's input)."""
    keep = protected.resolve() if protected is not None else None
    return [
        path
        for path in directory.iterdir()
        if _OUR_NAMES.match(path.name) and (keep is None or path.resolve() != keep)
    ]


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output directory (released even on a kill)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    lock = directory / _LOCK_FILE
    created = not lock.exists()
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputConflictError(
                f"Another process is writing to '{directory}' right now; wait for it to "
                f"finish, or choose another output directory."
            ) from None
        try:
            yield
        except BaseException:
            # A refused folder (another program's files) keeps nothing of this job.
            if created and not (directory / MANIFEST_FILE).exists():
                lock.unlink(missing_ok=True)
            raise
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def open_output(
    directory: Path, identity: dict[str, Any], overwrite: bool, input_path: Path | None = None
) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """Return the manifest to continue (or a fresh one) and the parts it lists as written.

    Replacing another job's output deletes only files named as a job names them
    (``part-NNNNNN.<format>``, the manifest, the summary, their temporary files), and
    never ``input_path``.
    """
    ours = _our_files(directory, input_path)
    manifest_path = directory / MANIFEST_FILE
    previous = None
    if manifest_path.exists():
        try:
            previous = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            previous = {"kind": "unreadable"}
        if previous.get("kind") != _MANIFEST_KIND:
            problems = [f"its {MANIFEST_FILE} is not a readable hiercls manifest"]
        else:
            problems = _differences(previous["identity"], identity)
        if problems and not overwrite:
            raise OutputConflictError(
                f"'{directory}' holds the output of another job: {'; '.join(problems)}. The "
                f"parts already there are kept. Pass overwrite=True (overwrite=true on the "
                f"command line) to replace them, or choose another output directory."
            )
        if problems:
            previous = None
    else:
        foreign = [p.name for p in directory.iterdir() if p.name != _LOCK_FILE and p not in ours]
        if (foreign or ours) and not overwrite:
            raise OutputConflictError(
                f"'{directory}' is not empty ({short_list(sorted(foreign) or ['part files'], 5)}) "
                f"and has no {MANIFEST_FILE}; choose an empty or new output directory, or pass "
                f"overwrite=True (which deletes only part-NNNNNN files, {MANIFEST_FILE} and "
                f"{SUMMARY_FILE}, never other files)."
            )
    if previous is None:
        for path in ours:
            path.unlink()
        return {
            "kind": _MANIFEST_KIND,
            "version": _MANIFEST_VERSION,
            "identity": identity,
            "parts": {},
            "complete": False,
            "n_parts": None,
            "rows": None,
        }, {}
    for path in ours:  # leftovers of a killed run
        if path.name.endswith(".tmp"):
            path.unlink()
    previous["identity"] = identity
    return previous, {int(k): v for k, v in previous.get("parts", {}).items()}


# ------------------------------------------------------------------ parts
def write_part(table: pa.Table, directory: Path, index: int, job: Job) -> Path:
    """Write part ``index`` of a job's output into ``directory``, atomically."""
    return write_table(table, directory / part_name(index, job.output_format), job.output_format)


_TALLY_COLUMNS = ("path_proba", "stopped_at_level", "scoring_error")


def read_part(path: Path, job: Job) -> pa.Table:
    columns = [*job.levels, *_TALLY_COLUMNS]
    if job.output_format == "parquet":
        return pq.read_table(path, columns=columns, pre_buffer=False)
    types = {name: job.output_schema.field(name).type for name in columns}
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=columns, column_types=types, strings_can_be_null=True
        ),
    )


# ------------------------------------------------------------ the runs
class Run:
    """Bookkeeping shared by the engines: manifest, tallies, progress."""

    def __init__(
        self, directory: Path, manifest: dict[str, Any], job: Job, confidence: float, progress: Any
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.job = job
        self.confidence = confidence
        self.progress = progress
        self.tally = Tally.empty(job)
        self.rows_now = 0
        self.parts_now = 0

    def save(self) -> None:
        self.manifest["updated_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_json(self.directory / MANIFEST_FILE, self.manifest)

    def reuse(self, done: dict[int, dict[str, Any]]) -> set[int]:
        """Tally parts written by an earlier run; return those that are intact."""
        intact = set()
        for index, entry in sorted(done.items()):
            path = self.directory / entry["file"]
            try:
                table = read_part(path, self.job)
            except (OSError, pa.ArrowInvalid):
                table = None
            if table is None or table.num_rows != entry["rows"]:
                logger.warning("Part %s is missing or damaged; scoring it again", path.name)
                self.manifest["parts"].pop(str(index), None)
                continue
            self.tally.add(tally_table(table, self.job, self.confidence))
            self.progress.update(entry["rows"])
            intact.add(index)
        return intact

    def record(self, index: int, table: pa.Table, first_row: int | None) -> None:
        self.tally.add(tally_table(table, self.job, self.confidence))
        self.manifest["parts"][str(index)] = {
            "file": part_name(index, self.job.output_format),
            "rows": table.num_rows,
            "first_row": first_row,
        }
        self.save()
        self.rows_now += table.num_rows
        self.parts_now += 1
        self.progress.update(table.num_rows)
