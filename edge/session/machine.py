"""The screening's state machine: which step a session is in and what may happen next.

Pure: no I/O and no clock. The session service feeds it events and stores the states it
returns; the display shows them and the audit log keeps every one. A session that stops
without a decision carries a `Problem` (`edge.session.problems`): what the nurse can do, and
the technical detail for the log.
"""

from __future__ import annotations

from enum import Enum

from edge.errors import SessionStateError


class State(str, Enum):
    IDLE = "idle"  # no session yet: the home screen
    PREPARING = "preparing"  # sensors, batteries, firmware, camera and disk space checked
    PLACEMENT = "placement"  # the IMU-placement check runs
    RECORDING = "recording"
    ANALYSING = "analysing"
    RESULT = "result"  # a decision: FM present, FM absent or not assessable
    FAILED = "failed"  # stopped by a problem; the problem says what to do
    CANCELLED = "cancelled"  # the nurse cancelled
    INTERRUPTED = "interrupted"  # found unfinished after a crash or power cut


class Event(str, Enum):
    START = "start"
    PREPARED = "prepared"
    PLACEMENT_PASSED = "placement_passed"
    PLACEMENT_OVERRIDDEN = "placement_overridden"  # the nurse's reason goes to the audit log
    RECORDED = "recorded"
    ANALYSED = "analysed"
    FAIL = "fail"
    CANCEL = "cancel"
    INTERRUPT = "interrupt"  # the service restarted and found the session unfinished
    REANALYSE = "reanalyse"


ACTIVE = frozenset({State.PREPARING, State.PLACEMENT, State.RECORDING, State.ANALYSING})
FINISHED = frozenset({State.RESULT, State.FAILED, State.CANCELLED, State.INTERRUPTED})

_FORWARD: dict[tuple[State, Event], State] = {
    (State.IDLE, Event.START): State.PREPARING,
    (State.PREPARING, Event.PREPARED): State.PLACEMENT,
    (State.PLACEMENT, Event.PLACEMENT_PASSED): State.RECORDING,
    (State.PLACEMENT, Event.PLACEMENT_OVERRIDDEN): State.RECORDING,
    (State.RECORDING, Event.RECORDED): State.ANALYSING,
    (State.ANALYSING, Event.ANALYSED): State.RESULT,
}
# A finished session whose recording holds data can be analysed again (a new model, or an
# interrupted recording up to its last durable second); a cancelled one never started one.
_REANALYSABLE = frozenset({State.RESULT, State.FAILED, State.INTERRUPTED})

TRANSITIONS: dict[tuple[State, Event], State] = {
    **_FORWARD,
    **{(state, Event.FAIL): State.FAILED for state in ACTIVE},
    **{(state, Event.CANCEL): State.CANCELLED for state in ACTIVE},
    **{(state, Event.INTERRUPT): State.INTERRUPTED for state in ACTIVE},
    **{(state, Event.REANALYSE): State.ANALYSING for state in _REANALYSABLE},
}


def advance(state: State, event: Event) -> State:
    """The state after `event`; raises SessionStateError if `event` cannot happen in `state`."""
    try:
        return TRANSITIONS[state, event]
    except KeyError:
        raise SessionStateError(state.value, event.value) from None


def allowed(state: State) -> list[Event]:
    """The events `state` accepts, for the display's buttons and the RPC's error messages."""
    return [event for (source, event) in TRANSITIONS if source is state]
