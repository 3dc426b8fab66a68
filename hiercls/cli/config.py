"""Where the Hydra configs live, and checks run on a composed config before any work."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

import hiercls

from ..batch import DaskEngine, LocalEngine

__all__ = ["CONF_DIR", "ConfigError", "build_engine", "check_booleans", "check_required", "check_targets"]


def _find_conf_dir() -> Path:
    # Inside a wheel, conf/ is shipped as hiercls/conf; in a checkout it sits beside hiercls/.
    packaged = Path(hiercls.__file__).resolve().parent / "conf"
    if packaged.is_dir():
        return packaged
    return Path(hiercls.__file__).resolve().parent.parent / "conf"


CONF_DIR: Path = _find_conf_dir()

# Run folders end with the process id (conf/hydra/default.yaml): two runs started in
# the same second would otherwise share one folder and overwrite each other.
if not OmegaConf.has_resolver("hiercls_pid"):
    # Cached in the config, like Hydra's own ``now``: a sweep's worker processes, which get
    # the config pickled, name the folder the launching process chose.
    OmegaConf.register_new_resolver("hiercls_pid", lambda: f"{os.getpid()}", use_cache=True)


class ConfigError(ValueError):
    """A composed configuration is incomplete or names something that does not exist."""


def check_required(cfg: DictConfig, section: str | None = None) -> None:
    """Fail with the key's name when a required (``???``) value was not given.

    Parameters
    ----------
    cfg : DictConfig
        The composed configuration.
    section : str, optional
        Check only this top-level key.

    Raises
    ------
    ConfigError
    """
    node = cfg if section is None else cfg[section]
    try:
        OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as exc:
        key = exc.full_key if section is None else f"{section}.{exc.full_key}"
        raise ConfigError(
            f"Missing required config value '{key}'; set it on the command line, e.g. {key}=<value>."
        ) from None


def check_booleans(cfg: DictConfig, *keys: str) -> None:
    """Refuse a value other than true or false for each dotted ``key`` (``quiet=maybe``).

    Raises
    ------
    ConfigError
    """
    for key in keys:
        value = OmegaConf.select(cfg, key)
        if not isinstance(value, bool):
            raise ConfigError(f"{key}={value!r} is not a boolean; write {key}=true or {key}=false.")


def _targets(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, DictConfig):
        for key in node.keys():
            value = node.get(key)
            path = f"{prefix}.{key!s}" if prefix else str(key)
            if key == "_target_":
                yield path, str(value)
            else:
                yield from _targets(value, path)
    elif isinstance(node, ListConfig):
        for i, value in enumerate(node):
            yield from _targets(value, f"{prefix}[{i}]")


def check_targets(cfg: DictConfig, section: str) -> None:
    """Import every ``_target_`` under ``section`` so a typo fails before training.

    Raises
    ------
    ConfigError
        Naming the key and the target that does not import.
    """
    for path, target in _targets(cfg[section], section):
        try:
            get_object(target)
        except Exception as exc:  # noqa: BLE001 - any import failure is reported alike
            raise ConfigError(
                f"{path}={target!r} cannot be imported ({type(exc).__name__}: {exc}); "
                f"give an importable class or function, e.g. lightgbm.LGBMClassifier."
            ) from None


def build_engine(cfg: DictConfig) -> LocalEngine | DaskEngine:
    """The ``engine`` of a config (``engine=local`` or ``engine=dask``), checked."""
    node = cfg.get("engine")
    if not isinstance(node, DictConfig) or "_target_" not in node:
        raise ConfigError(f"engine={node!r} is not an engine config; choose engine=local or engine=dask.")
    try:
        engine = instantiate(node)
    except Exception as exc:  # noqa: BLE001 - any instantiation failure reads alike
        raise ConfigError(
            f"engine could not be built from _target_={node._target_!r} "
            f"({type(exc).__name__}: {exc}); choose engine=local or engine=dask."
        ) from None
    if not isinstance(engine, (LocalEngine, DaskEngine)):
        raise ConfigError(
            f"engine._target_={node._target_!r} is not a hiercls engine; choose engine=local or engine=dask."
        )
    return engine
