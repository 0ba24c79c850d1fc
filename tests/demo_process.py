"""`gma-edge demo` in a process of its own, its display on a free port, for the tests that
need the whole appliance running (the browser test, the socket-table check)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunningDemo:
    process: subprocess.Popen[bytes]
    port: int  # the display's, on 127.0.0.1
    data: Path  # the appliance's data folder

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_demo(duration_s: float, extra_config: str = "",
                 answer_within_s: float = 60.0) -> Iterator[RunningDemo]:
    """The demo on the embedded default in a fresh short folder, once its display answers;
    stopped with Ctrl-C (SIGINT) afterwards, its folder removed."""
    folder = Path(tempfile.mkdtemp(prefix="ge-", dir="/tmp"))
    port = free_port()
    config = folder / "c.toml"
    config.write_text(f'[paths]\nruntime_dir = "{folder}/run"\ndata_dir = "{folder}/data"\n'
                      f"[display]\nport = {port}\n{extra_config}")
    demo = subprocess.Popen([sys.executable, "-m", "edge", "demo", "--config", str(config),
                             "--duration", f"{duration_s:g}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + answer_within_s
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert demo.poll() is None, demo.stderr.read().decode()[-2000:] \
                    if demo.stderr else "the demo stopped"
                assert time.monotonic() < deadline, "the display never answered"
                time.sleep(0.5)
        yield RunningDemo(demo, port, folder / "data")
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
        shutil.rmtree(folder, ignore_errors=True)
