"""What the analysis says about a recording, in English and German.

A reason (why a recording is not assessable) or a note (what the reader should know) is a key
with its parameters; the sentence is made per language from the templates below, so the
nurse's display shows the analysis in the language it is set to, and the report and the
command line keep their English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Language = Literal["en", "de"]
LANGUAGES: tuple[Language, ...] = ("en", "de")
Param = str | int | float

TEMPLATES: dict[Language, dict[str, str]] = {
    "en": {
        "out_of_view": "the infant was out of the camera's view for {percent} % of the "
                       "recording",
        "turned": "the infant was not lying on its back for {percent} % of the recording",
        "fussing": "the infant was crying or fussing for {percent} % of the recording",
        "asleep": "the infant was asleep or drowsy for {percent} % of the recording",
        "sensor_missing": "a movement sensor was not streaming for {percent} % of the "
                          "recording",
        "too_short": "only {covered} s could be assessed, {needed} s are needed",
        "placement_failed": "the sensors' placement check did not pass",
        "no_usable_window": "no window had the data the model needs",
        "unsure": "the model is unsure: probability {probability}, band {low} to {high} "
                  "around {threshold}",
        "reference_model": "Reference model trained on simulated infants only: not clinically "
                           "validated. A trained GMA assessor decides.",
        "placement_unchecked": "The sensors' placement was not checked for this recording.",
        "placement_overridden": "The placement check failed and was overridden: {override}",
    },
    "de": {
        "out_of_view": "das Kind war {percent} % der Aufnahme nicht im Bild der Kamera",
        "turned": "das Kind lag {percent} % der Aufnahme nicht auf dem Rücken",
        "fussing": "das Kind hat {percent} % der Aufnahme geweint oder war unruhig",
        "asleep": "das Kind hat {percent} % der Aufnahme geschlafen oder war schläfrig",
        "sensor_missing": "ein Bewegungssensor hat {percent} % der Aufnahme keine Daten "
                          "gesendet",
        "too_short": "nur {covered} s waren auswertbar, {needed} s sind nötig",
        "placement_failed": "die Prüfung der Sensorplatzierung wurde nicht bestanden",
        "no_usable_window": "kein Zeitabschnitt hatte die Daten, die das Modell braucht",
        "unsure": "das Modell ist unsicher: Wahrscheinlichkeit {probability}, Band {low} bis "
                  "{high} um {threshold}",
        "reference_model": "Referenzmodell, nur mit simulierten Kindern trainiert: nicht "
                           "klinisch validiert. Es entscheidet eine ausgebildete "
                           "GMA-Beurteilerin oder ein ausgebildeter GMA-Beurteiler.",
        "placement_unchecked": "Die Sensorplatzierung wurde für diese Aufnahme nicht geprüft.",
        "placement_overridden": "Die Platzierungsprüfung war nicht bestanden und wurde "
                                "übergangen: {override}",
    },
}


@dataclass(frozen=True)
class Statement:
    """A reason or a note: a key of TEMPLATES and its parameters."""

    key: str
    params: dict[str, Param] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for language in LANGUAGES:
            if self.key not in TEMPLATES[language]:
                raise ValueError(f"no {language} wording for {self.key!r}")
            self.text(language)

    def text(self, language: Language = "en") -> str:
        try:
            return TEMPLATES[language][self.key].format(**self.params)
        except KeyError as exc:
            raise ValueError(f"{self.key!r} needs the parameter {exc}") from None

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "params": dict(self.params),
                **{language: self.text(language) for language in LANGUAGES}}
