"""One error boundary for ``hiercls-train`` and ``hiercls-predict``.

An expected failure (a bad config value or input file, a hiercls error, a missing
optional package, a full disk, a permission, Ctrl-C) ends the command with one line
on stderr that says what was wrong and what to do, and a distinct exit code. Any
other exception is a bug: it keeps its traceback. ``HYDRA_FULL_ERROR=1`` shows the
traceback of every failure.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from .._atomic import write_text
from ..artifacts import FAILED_RUN_FILE

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_ENVIRONMENT",
    "EXIT_INTERRUPTED",
    "RunFolderCheck",
    "error_boundary",
]

#: A config value, an input file or the data are not what the command can use.
EXIT_BAD_INPUT = 2
#: The machine refused: no space left, no permission, another file system error.
EXIT_ENVIRONMENT = 3
#: Ctrl-C (SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def _describe(exc: BaseException) -> tuple[int, str] | None:
    """Exit code and one-line message of an expected failure; None for a bug."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
        where = f" writing '{exc.filename}'" if exc.filename else ""
        return (
            EXIT_ENVIRONMENT,
            f"no space left on the device{where}; free some space or choose another output folder",
        )
    if isinstance(exc, PermissionError):
        return EXIT_ENVIRONMENT, f"permission denied: '{exc.filename}'; choose a folder you can write to"
    if isinstance(exc, IsADirectoryError):
        return EXIT_BAD_INPUT, f"'{exc.filename}' is a directory; give the path of a file"
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        text = str(exc) if exc.filename is None else f"'{exc.filename}' does not exist"
        return EXIT_BAD_INPUT, text
    if isinstance(exc, OSError):
        return EXIT_ENVIRONMENT, str(exc)
    if isinstance(exc, (ValueError, ImportError)):
        return EXIT_BAD_INPUT, str(exc)
    return None


@contextmanager
def error_boundary(command: str, *, run_dir: Path | None = None, on_interrupt: str = "") -> Iterator[None]:
    """Turn expected failures of ``command`` into one line on stderr and an exit code.

    Parameters
    ----------
    command : str
        The command's name, which starts the message.
    run_dir : Path, optional
        The run's output folder. When the command fails, ``FAILED.txt`` is written
        there with the reason, so that a partial folder never looks complete.
    on_interrupt : str, default=""
        Said after "interrupted" on Ctrl-C, e.g. how to resume.

    Raises
    ------
    SystemExit
        With ``EXIT_BAD_INPUT``, ``EXIT_ENVIRONMENT`` or ``EXIT_INTERRUPTED``.
    """
    try:
        yield
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        described = _describe(exc)
        reason = described[1] if described else f"{type(exc).__name__}: {exc}"
        if run_dir is not None and run_dir.is_dir():
            _mark_failed(run_dir, reason)
        if described is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        code, message = described
        if code == EXIT_INTERRUPTED and on_interrupt:
            message = f"{message}; {on_interrupt}"
        print(f"{command}: error: {message}", file=sys.stderr)
        raise SystemExit(code) from None


def _mark_failed(run_dir: Path, reason: str) -> None:
    try:
        write_text(run_dir / FAILED_RUN_FILE, f"This run failed and its outputs are incomplete.\n{reason}\n")
    except OSError:
        pass  # the disk that failed the run may refuse this too; the exit code still says it


class RunFolderCheck(Callback):  # type: ignore[misc]
    """Hydra callback: a run folder that cannot be created ends the command in one line.

    Hydra creates the run folder before the task function, so outside
    :func:`error_boundary`; this check runs first.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Create the run folder, or exit with ``EXIT_ENVIRONMENT`` saying why."""
        self._make(config, str(config.hydra.run.dir))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Create the sweep folder, or exit with ``EXIT_ENVIRONMENT`` saying why."""
        self._make(config, str(config.hydra.sweep.dir))

    @staticmethod
    def _make(config: DictConfig, folder: str) -> None:
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            command = config.hydra.help.app_name
            print(
                f"{command}: error: cannot create the run folder '{folder}' ({exc.strerror}); "
                f"set paths.output_dir to a folder you can write to",
                file=sys.stderr,
            )
            raise SystemExit(EXIT_ENVIRONMENT) from None
