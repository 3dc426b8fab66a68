"""``hiercls-predict``: score a CSV or Parquet file with a saved model, in resumable parts.

::

    hiercls-predict model_path=outputs/runs/<run>/model input=new_rows.parquet output=scored/
    hiercls-predict ... engine=dask engine.address=tcp://scheduler:8786
    hiercls-predict ... top_k=3 id_columns=[row_id] format=csv quiet=true
    hiercls-predict ... trust=[mypackage.MyNodeModel]   # a type the model needs
    hiercls-predict ... allow_pickle=true               # a pickle artifact you trust

Running the same command again after a kill continues from the first missing part.
The config is ``conf/predict.yaml`` with the ``engine`` group (``local``, ``dask``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from ..batch import predict_file
from .config import CONF_DIR, ConfigError, build_engine, check_booleans, check_required
from .errors import error_boundary, hydra_boundary

__all__ = ["main", "predict"]

logger = logging.getLogger(__name__)

_FORMATS = ("parquet", "csv")


def _check(cfg: DictConfig) -> None:
    check_required(cfg)
    for key in ("model_path", "input", "output"):
        if not str(cfg[key]).strip():
            raise ConfigError(f"{key} is empty; give a path, e.g. {key}=<path>.")
    check_booleans(cfg, "overwrite", "quiet", "allow_pickle")
    if not Path(cfg.model_path).exists():
        raise ConfigError(
            f"model_path={cfg.model_path!r} does not exist; give the model directory that "
            f"hiercls-train wrote (<run>/model)."
        )
    if not Path(cfg.input).is_file():
        raise ConfigError(f"input={cfg.input!r} is not a file; give the CSV or Parquet file to score.")
    output = Path(cfg.output)
    if output.exists() and not output.is_dir():
        same = output.resolve() == Path(cfg.input).resolve()
        raise ConfigError(
            f"output={cfg.output!r} is {'the input file' if same else 'a file'}; give a directory "
            f"for the output parts (a new one, or one an earlier hiercls-predict run wrote)."
        )
    if cfg.format not in _FORMATS:
        raise ConfigError(f"format={cfg.format!r} is not supported; choose parquet or csv.")
    if cfg.input_format not in (None, *_FORMATS):
        raise ConfigError(f"input_format={cfg.input_format!r} is not supported; choose parquet, csv or null.")


def predict(cfg: DictConfig) -> dict[str, Any]:
    """Score ``cfg.input`` with the artifact at ``cfg.model_path`` into ``cfg.output``.

    Parameters
    ----------
    cfg : DictConfig
        A composed ``predict`` config.

    Returns
    -------
    summary : dict
        What ``_summary.json`` holds (see :class:`hiercls.batch.BatchSummary`).

    Raises
    ------
    ConfigError
        A missing required key, a path that does not exist, an unknown engine or
        format; raised before any work, naming the key.
    hiercls.SchemaError, hiercls.batch.OutputConflictError, hiercls.ArtifactError
        From :func:`hiercls.batch.predict_file`.
    """
    _check(cfg)
    engine = build_engine(cfg)
    options = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(options, dict)
    summary = predict_file(
        options["model_path"],
        options["input"],
        options["output"],
        chunk_rows=options["chunk_rows"],
        top_k=options["top_k"],
        explain=options["explain"],
        id_columns=options["id_columns"],
        passthrough=options["passthrough"],
        feature_columns=options["feature_columns"],
        input_format=options["input_format"],
        output_format=options["format"],
        confidence=options["confidence"],
        overwrite=options["overwrite"],
        quiet=options["quiet"],
        engine=engine,
        trusted=options["trust"],
        allow_pickle=options["allow_pickle"],
    )
    return summary.to_dict()


@hydra.main(config_path=str(CONF_DIR), config_name="predict", version_base="1.3")
def _run(cfg: DictConfig) -> None:
    """Hydra's task: :func:`predict` behind the error boundary."""
    resume = (
        f"the finished parts in '{cfg.get('output')}' are kept: run the same command again "
        f"to score only the rest"
    )
    with error_boundary("hiercls-predict", on_interrupt=resume):
        predict(cfg)


def main() -> None:
    """``hiercls-predict``: compose the config from the command line and run :func:`predict`.

    An expected failure, including a command line Hydra cannot compose, ends with one
    line on stderr (see ``errors``).
    """
    with hydra_boundary("hiercls-predict"):
        _run()


if __name__ == "__main__":
    main()
