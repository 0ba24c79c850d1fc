"""`recording.json`: who and what a recording is, on which time base, and how it ended.

Patient data is pseudonymous by construction: a subject is a clinic-assigned code (no spaces,
so no "First Last"), age is in whole weeks, and there is no field for a name or a birth date.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, JsonValue, StrictInt, model_validator

from edge.recording.schema import CURRENT, INT64_MAX, INT64_MIN, FormatModel, FormatTag

RECORDING_FILE = "recording.json"

Source = Literal["appliance", "simulator", "import"]
Label = Literal["present", "absent", "not_assessable"]
# GMA notation of fidgety movements: continual, intermittent, sporadic, absent, abnormal.
FmClass = Literal["FM++", "FM+", "FM+/-", "FM-", "AF"]
Status = Literal["recording", "complete", "interrupted"]

SUBJECT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
RECORDING_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
Int64 = Annotated[StrictInt, Field(ge=INT64_MIN, le=INT64_MAX)]


class TimeBase(FormatModel):
    """What `t_ns` in this recording's streams and events counts from."""

    clock: Literal["host_monotonic", "simulated", "source"] = Field(
        description="host_monotonic: the cart's CLOCK_MONOTONIC (appliance); simulated: the "
        "simulator's time; source: an imported dataset's own time, converted to ns."
    )
    origin_ns: Int64 = Field(
        default=0, description="t_ns at the start of the recording (the nurse's Start)."
    )
    utc_at_origin: AwareDatetime | None = Field(
        default=None, description="Wall-clock time at origin_ns, if known; never a birth date."
    )


class RecordingMeta(FormatModel):
    """The metadata of one recording; the writer sets `format` and `status`."""

    format: FormatTag = Field(default=CURRENT, description="Format version that wrote it.")
    recording_id: str = Field(
        pattern=RECORDING_ID_PATTERN, description="Unique within a dataset; the folder's name."
    )
    source: Source = Field(description="Who made it: the appliance, the simulator, an import.")
    subject: str = Field(
        pattern=SUBJECT_PATTERN,
        description="Pseudonymous subject code, the same for every recording of one infant.",
    )
    label: Label | None = Field(
        default=None, description="Fidgety movements as rated by an assessor; None if unknown."
    )
    fm_class: FmClass | None = Field(
        default=None, description="The assessor's FM class in GMA notation, if rated."
    )
    age_weeks: Annotated[StrictInt, Field(ge=0, le=104)] | None = Field(
        default=None, description="Corrected (post-term) age in whole weeks at the recording."
    )
    versions: dict[str, str] = Field(
        default_factory=dict,
        description="Software, model and firmware versions that made it, by component.",
    )
    provenance: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Source-specific, non-identifying facts: simulator seed, import origin.",
    )
    time_base: TimeBase = Field(description="What t_ns counts from.")
    status: Status = Field(default="recording", description="Set to the outcome by close().")
    end_reason: str | None = Field(
        default=None, description="Why an interrupted recording ended, in words."
    )

    @model_validator(mode="after")
    def _class_matches_label(self) -> RecordingMeta:
        if self.fm_class is not None:
            expected = "absent" if self.fm_class == "FM-" else "present"
            if self.label != expected:
                raise ValueError(f"fm_class {self.fm_class} needs label {expected!r}")
        return self
