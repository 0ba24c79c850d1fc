"""Running a program for the installer and the field update: its output, or the caller's
typed error with the end of it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from edge.errors import DeployError, EdgeError

_OUTPUT_TAIL = 2000

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def run(command: Sequence[str | Path], what: str, timeout_s: float | None = None, *,
        error: type[EdgeError] = DeployError, runner: Runner = subprocess.run) -> str:
    """The command's standard output; `error` saying `what` failed and how, otherwise."""
    try:
        done = runner([str(part) for part in command], capture_output=True, text=True,
                      check=False, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise error(f"{what} did not finish within {timeout_s:g} s") from exc
    except OSError as exc:
        raise error(f"{what}: cannot run {command[0]}: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-_OUTPUT_TAIL:]
        raise error(f"{what} failed (exit {done.returncode}): {output}")
    return str(done.stdout)
