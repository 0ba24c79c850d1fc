"""The session state machine: every transition, and every event a state must refuse."""

from __future__ import annotations

import itertools

import pytest

from edge.errors import SessionStateError
from edge.session.machine import ACTIVE, FINISHED, TRANSITIONS, Event, State, advance, allowed


def test_the_happy_path_runs_from_start_to_result() -> None:
    state = State.IDLE
    for event in (Event.START, Event.PREPARED, Event.PLACEMENT_PASSED, Event.RECORDED,
                  Event.ANALYSED):
        state = advance(state, event)
    assert state is State.RESULT


def test_an_override_also_leads_to_recording() -> None:
    assert advance(State.PLACEMENT, Event.PLACEMENT_OVERRIDDEN) is State.RECORDING


@pytest.mark.parametrize("state", sorted(ACTIVE, key=lambda s: s.value))
def test_every_active_state_can_fail_be_cancelled_and_be_interrupted(state: State) -> None:
    assert advance(state, Event.FAIL) is State.FAILED
    assert advance(state, Event.CANCEL) is State.CANCELLED
    assert advance(state, Event.INTERRUPT) is State.INTERRUPTED


@pytest.mark.parametrize("state", [State.RESULT, State.FAILED, State.INTERRUPTED])
def test_a_finished_session_with_a_recording_can_be_analysed_again(state: State) -> None:
    assert advance(state, Event.REANALYSE) is State.ANALYSING


def test_every_pair_outside_the_table_is_refused_with_the_state_and_event_named() -> None:
    refused = 0
    for state, event in itertools.product(State, Event):
        if (state, event) in TRANSITIONS:
            continue
        with pytest.raises(SessionStateError) as caught:
            advance(state, event)
        assert caught.value.state == state.value and caught.value.event == event.value
        refused += 1
    assert refused == len(State) * len(Event) - len(TRANSITIONS) > 50


def test_finished_states_accept_nothing_but_reanalysis_and_idle_only_start() -> None:
    for state in FINISHED:
        assert set(allowed(state)) <= {Event.REANALYSE}
    assert allowed(State.CANCELLED) == []  # nothing was recorded to analyse
    assert allowed(State.IDLE) == [Event.START]
