"""The end-to-end benchmark's own measuring: a process's CPU and memory, latencies kept to the
recording's window."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "bench"))

from e2e import Flow, usage


def test_a_process_usage_is_measured_and_a_gone_one_is_none() -> None:
    before = usage(os.getpid())
    assert before is not None
    ballast = np.ones(64 * 1024 * 1024 // 8)  # 64 MB, touched
    sum(range(2_000_000))  # some CPU time
    after = usage(os.getpid())
    assert after is not None and ballast.sum() > 0
    assert after.cpu_s > before.cpu_s
    assert after.rss_mb >= before.rss_mb + 60
    assert 0 < after.pss_mb <= after.rss_mb
    assert usage(2**22 + 1) is None  # above the largest pid_max: no such process


def test_latencies_count_only_messages_captured_in_the_window() -> None:
    flow = Flow(poses=[(1_000, 3_000_000, 0), (2_000_000, 7_000_000, 1),
                       (9_000_000, 10_000_000, 2)])
    assert flow.latency_ms(flow.poses, 1_000, 2_000_000).tolist() == [2.999, 5.0]
    assert len(flow.latency_ms(flow.poses, 20_000_000, 30_000_000)) == 0
