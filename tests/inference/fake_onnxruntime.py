"""A fake `onnxruntime` module, shaped like onnxruntime 1.23's Python API, for provider selection.

What the backend uses of it, as `capi/onnxruntime_inference_collection.py` has it:
`get_available_providers()`, `SessionOptions` (with `intra_op_num_threads`, 0 by default, and
`add_session_config_entry`), and `InferenceSession(path, sess_options=, providers=)`, whose
`get_providers()` lists the providers that started, best first, and always the CPU last. A
provider that fails to start is left out of that list, as onnxruntime's own fallback leaves it
out.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class NodeArg:
    name: str
    type: str
    shape: list[int | str | None]


class SessionOptions:
    def __init__(self) -> None:
        self.intra_op_num_threads = 0
        self.config_entries: dict[str, str] = {}

    def add_session_config_entry(self, key: str, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("add_session_config_entry(): incompatible function arguments")
        self.config_entries[key] = value


def fake_onnxruntime(
    available: Sequence[str], fails: Sequence[str] = (), version: str = "1.23.2"
) -> types.ModuleType:
    """A module whose build has the providers `available`, of which those in `fails` do not
    start; its sessions compute y = 2 x + 1 on one input x of shape (batch, 3)."""
    module = types.ModuleType("onnxruntime")
    sessions: list[InferenceSession] = []

    class InferenceSession:
        def __init__(
            self,
            path_or_bytes: str,
            sess_options: SessionOptions | None = None,
            providers: Sequence[str | tuple[str, dict[str, Any]]] | None = None,
        ) -> None:
            self.path = path_or_bytes
            self.sess_options = sess_options
            self.providers = list(providers or [])
            sessions.append(self)

        def get_providers(self) -> list[str]:
            names = [p if isinstance(p, str) else p[0] for p in self.providers]
            started = [name for name in names if name in available and name not in fails]
            return [*(n for n in started if n != "CPUExecutionProvider"), "CPUExecutionProvider"]

        def get_inputs(self) -> list[NodeArg]:
            return [NodeArg("x", "tensor(float)", ["batch", 3])]

        def get_outputs(self) -> list[NodeArg]:
            return [NodeArg("y", "tensor(float)", ["batch", 3])]

        def run(self, output_names: Sequence[str], feed: dict[str, Any]) -> list[np.ndarray]:
            return [np.asarray(feed["x"]) * 2 + 1]

    module.__dict__.update(
        __version__=version,
        get_available_providers=lambda: list(available),
        SessionOptions=SessionOptions,
        InferenceSession=InferenceSession,
        sessions=sessions,  # for the tests: every session made
    )
    return module
