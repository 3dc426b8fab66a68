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
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.errors import (
    ConfigCompositionException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)
from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from .._atomic import write_text
from ..artifacts import FAILED_RUN_FILE

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_ENVIRONMENT",
    "EXIT_INTERRUPTED",
    "RunFolderCheck",
    "error_boundary",
    "hydra_boundary",
]

#: A config value, an input file or the data are not what the command can use.
EXIT_BAD_INPUT = 2
#: The machine refused: no space left, no permission, another file system error.
EXIT_ENVIRONMENT = 3
#: Ctrl-C (SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


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
    if isinstance(exc, OmegaConfBaseException) and exc.msg:
        # OmegaConf's own text spans lines (full_key, object_type); the key is what matters.
        where = f" (config key '{exc.full_key}')" if exc.full_key else ""
        return EXIT_BAD_INPUT, f"{exc.msg.splitlines()[0]}{where}"
    if isinstance(exc, InstantiationException) and isinstance(exc.__cause__, (TypeError, ValueError)):
        # A config key the class does not take (+model.foo=1) or a value it refuses.
        target = re.search(r"target '([^']+)'", str(exc))
        what = f"'{target.group(1)}'" if target else "an object of the config"
        return EXIT_BAD_INPUT, f"cannot build {what}: {exc.__cause__}; check the keys and values given for it"
    if isinstance(exc, (ValueError, ImportError)):
        return EXIT_BAD_INPUT, _one_line(str(exc))
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
    with _quiet_threads_after_ctrl_c():
        try:
            yield
        except BaseException as exc:
            _fail(exc, command, run_dir, on_interrupt)


def _fail(exc: BaseException, command: str, run_dir: Path | None, on_interrupt: str) -> None:
    if isinstance(exc, SystemExit):
        raise exc
    described = _describe(exc)
    reason = described[1] if described else f"{type(exc).__name__}: {exc}"
    if run_dir is not None and run_dir.is_dir():
        _mark_failed(run_dir, reason)
    if described is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
        raise exc
    code, message = described
    message = _one_line(message)
    if code == EXIT_INTERRUPTED:
        # joblib says so when the interrupted fit's task generator is collected, after
        # this line: the user pressed Ctrl-C, cancelled tasks are no news.
        warnings.filterwarnings("ignore", message=r"\d+ tasks which were still being processed")
        if on_interrupt:
            message = f"{message}; {on_interrupt}"
    print(f"{command}: error: {message}", file=sys.stderr)
    raise SystemExit(code) from None


@contextmanager
def _quiet_threads_after_ctrl_c() -> Iterator[None]:
    """After Ctrl-C, let no helper thread print a traceback.

    When SIGINT lands while joblib's process pool is busy, the pool's manager thread
    may fail on the work items the interrupted main thread is tearing down (loky:
    ``KeyError`` in ``add_call_item_to_queue``), and Python prints that thread's
    traceback before the command's one line. The failure is a consequence of the
    interruption, not a bug, so from the moment SIGINT arrives exceptions of other
    threads are dropped. Before it, they print as always. Outside the main thread
    (no signal handler can be set there) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    interrupted = threading.Event()
    previous_handler = signal.getsignal(signal.SIGINT)
    previous_hook = threading.excepthook

    def on_sigint(signum: int, frame: Any) -> None:
        interrupted.set()
        if callable(previous_handler):
            previous_handler(signum, frame)
        raise KeyboardInterrupt

    def excepthook(args: threading.ExceptHookArgs) -> None:
        if not interrupted.is_set():
            previous_hook(args)

    if previous_handler is not signal.SIG_IGN:  # a shell's background job keeps ignoring Ctrl-C
        signal.signal(signal.SIGINT, on_sigint)
    threading.excepthook = excepthook
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        if not interrupted.is_set():  # after Ctrl-C, the pool's thread may still fail while Python exits
            threading.excepthook = previous_hook


def _describe_composition(exc: Exception, command: str) -> str:
    """One line for a command line Hydra could not turn into a config."""
    see = f"(see {command} --help)"
    if isinstance(exc, OverrideParseException):
        lines = [line for line in exc.message.splitlines() if not line.startswith(("Error parsing", "See "))]
        detail = (lines or [exc.message])[0].split(" expecting ")[0]  # the token list helps nobody
        return (
            f"cannot read the override '{exc.override}' ({detail}); write key=value, a list as "
            f"key=[a,b], and quote a value with spaces or commas: key='a, b' {see}"
        )
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and exc.options is not None:
        group, _, name = exc.missing_cfg_file.rpartition("/")
        choices = ", ".join(sorted(exc.options))
        return f"unknown {group or 'config'} '{name}'; choose one of: {choices} {see}"
    message = str(exc)
    unknown = re.match(r"Could not override '([^']+)'", message)
    if unknown and "not in struct" in str(exc.__cause__):
        key = unknown.group(1)
        added = re.search(r"use (\+\S+)", message)
        hint = f", or add a new key with {added.group(1)}" if added else ""
        return f"unknown config key '{key}'; check its spelling {see}{hint}"
    if isinstance(exc, MissingConfigException):
        message = message.splitlines()[0]  # the rest lists Hydra's search path
    cause = exc.__cause__
    if isinstance(cause, OmegaConfBaseException) and cause.msg:
        message = f"{message}: {cause.msg.splitlines()[0]}"
    return f"{_one_line(message)} {see}"


@contextmanager
def _composition_line(command: str) -> Iterator[None]:
    try:
        yield
    except (OverrideParseException, ConfigCompositionException) as exc:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"{command}: error: {_describe_composition(exc, command)}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT) from None


@contextmanager
def hydra_boundary(command: str) -> Iterator[None]:
    """One line and ``EXIT_BAD_INPUT`` for a command line that Hydra cannot compose.

    Hydra composes the config before the task function runs, inside its private
    ``run_and_report``, which prints a multi-line report and exits with 1. That
    function is the one place every composition runs through, so it is wrapped here
    for the duration of the command; ``HYDRA_FULL_ERROR=1`` still shows Hydra's own
    report.
    """
    from hydra._internal import utils as hydra_utils  # private: no public hook exists

    report = hydra_utils.run_and_report

    def run_and_report(func: Callable[[], Any]) -> Any:
        def guarded() -> Any:
            with _composition_line(command):
                return func()

        return report(guarded)

    hydra_utils.run_and_report = run_and_report
    try:
        with _composition_line(command):  # --help composes outside run_and_report
            yield
    finally:
        hydra_utils.run_and_report = report


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
