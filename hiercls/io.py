"""Backward-compatible home of names that now live in their own modules.

Model artifacts are in :mod:`hiercls.artifacts`; the reading of batch input files is
in :mod:`hiercls.batch.files`; atomic writes are in ``hiercls._atomic``. Import
from those modules in new code; ``from hiercls.io import save_model, load_model``
keeps working.
"""

from __future__ import annotations

from ._atomic import write_json as write_json_atomic
from ._atomic import write_table as write_table_atomic
from .artifacts import (
    FORMAT_VERSION,
    METADATA_FILE,
    MODEL_FILE,
    ArtifactError,
    ArtifactVersionWarning,
    find_classifier,
    load_model,
    read_metadata,
    save_model,
)
from .batch.files import (
    DataFile,
    csv_column_of_error,
    file_identity,
    find_unparsable_value,
    inspect_data_file,
    iter_chunks,
)

#: The former name of :func:`hiercls.artifacts.find_classifier`.
classifier_of = find_classifier

__all__ = [
    "ArtifactError",
    "ArtifactVersionWarning",
    "DataFile",
    "FORMAT_VERSION",
    "METADATA_FILE",
    "MODEL_FILE",
    "classifier_of",
    "csv_column_of_error",
    "file_identity",
    "find_classifier",
    "find_unparsable_value",
    "inspect_data_file",
    "iter_chunks",
    "load_model",
    "read_metadata",
    "save_model",
    "write_json_atomic",
    "write_table_atomic",
]
