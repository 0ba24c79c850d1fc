"""What the nurse is told: every problem and live warning, in English and German, by key.

A problem travels as its key and parameters, never as rendered text, so the display shows it
in the nurse's language and the audit log keeps what happened, not how it was worded. Each
instruction says what to do, in words a nurse can act on; `detail` is for the technician.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Language = Literal["en", "de"]
LANGUAGES: tuple[Language, ...] = ("en", "de")
Param = str | int | float

# Sensor positions as said aloud, in each language.
POSITIONS: dict[Language, dict[str, str]] = {
    "en": {"left_wrist": "left wrist", "right_wrist": "right wrist",
           "left_ankle": "left ankle", "right_ankle": "right ankle"},
    "de": {"left_wrist": "linken Handgelenk", "right_wrist": "rechten Handgelenk",
           "left_ankle": "linken Knöchel", "right_ankle": "rechten Knöchel"},
}

# Parameters that name a sensor position, said in the instruction's language.
_POSITION_PARAMS = ("position", "first", "second", "on")

MESSAGES: dict[Language, dict[str, str]] = {
    "en": {
        "disk_space": "Not enough free space: {need_mb} MB needed, {free_mb} MB free. Export "
                      "and remove old sessions, then press Start again.",
        "disk_full": "The disk became full, so the recording stopped. What was recorded is "
                     "kept. Export and remove old sessions.",
        "sensor_missing": "The sensor for the {position} is not connected. Move it gently to "
                          "wake it, check that it is charged, then press Start again.",
        "sensor_weak": "The sensor for the {position} sends too little data. Bring the cart "
                       "closer to the infant, keep the sensor's face free; if it goes on, "
                       "press Start again.",
        "battery_low": "The sensor for the {position} has {percent} % battery left. Charge or "
                       "swap it, then press Start again.",
        "firmware_old": "The sensor for the {position} needs a firmware update. Ask the "
                        "technician.",
        "camera_missing": "The camera is not available. Check its cable and power, then "
                          "press Start again.",
        "placement_swapped": "The {first} and {second} sensors are swapped: swap them.",
        "placement_elsewhere": "The sensor for the {position} is on the {on}: put it on "
                               "the {position}.",
        "placement_off_body": "The sensor for the {position} is not on the infant (it lies "
                              "still): strap it on the {position}.",
        "placement_not_on_limb": "The sensor for the {position} does not move with the "
                                 "{position}: strap it on firmly, not held or loose.",
        "placement_quarter_turn": "The sensor for the {position} is turned sideways: turn it "
                                  "a quarter so its label reads along the limb, towards the "
                                  "hand or foot.",
        "placement_turned_round": "The sensor for the {position} is upside down: turn it "
                                  "round so its label reads towards the hand or foot.",
        "placement_face_down": "The sensor for the {position} seems to face the skin: strap "
                               "it with its face outwards.",
        "placement_saturated": "The sensor for the {position} is knocked about: tighten its "
                               "strap.",
        "placement_timing": "The sensors' timing is off by {ms} ms against the camera. Press "
                            "Start again; if this comes back, tell the technician.",
        "placement_limb_still": "The {position} hardly moved, so its sensor cannot be checked "
                                "yet: move the infant's limb gently.",
        "placement_still": "The infant is lying very still, so the sensors cannot be checked: "
                           "move the infant's arms and legs gently for a few seconds.",
        "sensor_lost": "The sensor for the {position} stopped sending, so the recording "
                       "stopped. Check the sensor, then press Start again.",
        "analysis_failed": "The analysis failed. The recording is kept and can be analysed "
                           "again. Tell the technician.",
        "service_down": "Part of the appliance is not running ({service}). Restart the "
                        "appliance; if this comes back, tell the technician.",
        "out_of_view": "The infant is not fully in view of the camera.",
        "camera_gone": "The camera sends no images: check its cable and power. The recording "
                       "goes on with the sensors.",
        "sensor_gone": "The sensor for the {position} is not sending.",
        "sensor_back": "The sensor for the {position} is sending again.",
        "crying": "The infant seems to be crying or fussing. Calm the infant; the recording "
                  "goes on.",
        "little_movement": "The infant is hardly moving. Is the infant asleep?",
    },
    "de": {
        "disk_space": "Nicht genug freier Speicher: {need_mb} MB nötig, {free_mb} MB frei. "
                      "Alte Sitzungen exportieren und löschen, dann erneut Start drücken.",
        "disk_full": "Der Speicher ist voll, die Aufnahme wurde beendet. Das Aufgenommene "
                     "bleibt erhalten. Alte Sitzungen exportieren und löschen.",
        "sensor_missing": "Der Sensor am {position} ist nicht verbunden. Sensor leicht "
                          "bewegen, um ihn zu wecken, Ladung prüfen, dann erneut Start drücken.",
        "sensor_weak": "Der Sensor am {position} sendet zu wenig Daten. Den Wagen näher an "
                       "das Kind stellen, die Vorderseite des Sensors frei lassen; wenn es so "
                       "bleibt, erneut Start drücken.",
        "battery_low": "Der Sensor am {position} hat noch {percent} % Akku. Laden oder "
                       "tauschen, dann erneut Start drücken.",
        "firmware_old": "Der Sensor am {position} braucht ein Firmware-Update. Bitte die "
                        "Technik verständigen.",
        "camera_missing": "Die Kamera ist nicht verfügbar. Kabel und Stromversorgung prüfen, "
                          "dann erneut Start drücken.",
        "placement_swapped": "Die Sensoren am {first} und am {second} sind vertauscht: "
                             "bitte tauschen.",
        "placement_elsewhere": "Der Sensor, der am {position} sitzen soll, sitzt am {on}: "
                               "bitte umsetzen.",
        "placement_off_body": "Der Sensor, der am {position} sitzen soll, liegt still und ist "
                              "nicht am Kind: bitte am {position} anlegen.",
        "placement_not_on_limb": "Der Sensor am {position} bewegt sich nicht mit: fest "
                                 "anlegen, nicht halten und nicht lose.",
        "placement_quarter_turn": "Der Sensor am {position} ist quer angelegt: eine "
                                  "Vierteldrehung, so dass die Beschriftung entlang der "
                                  "Gliedmaße zur Hand oder zum Fuß zeigt.",
        "placement_turned_round": "Der Sensor am {position} ist verkehrt herum: umdrehen, so "
                                  "dass die Beschriftung zur Hand oder zum Fuß zeigt.",
        "placement_face_down": "Der Sensor am {position} liegt offenbar mit der Vorderseite "
                               "zur Haut: mit der Vorderseite nach außen anlegen.",
        "placement_saturated": "Der Sensor am {position} wird hin und her geschlagen: Band "
                               "fester ziehen.",
        "placement_timing": "Die Zeit der Sensoren weicht um {ms} ms von der Kamera ab. "
                            "Erneut Start drücken; wenn es wieder auftritt, bitte die Technik "
                            "verständigen.",
        "placement_limb_still": "Am {position} gab es kaum Bewegung, der Sensor kann noch "
                                "nicht geprüft werden: die Gliedmaße des Kindes sanft bewegen.",
        "placement_still": "Das Kind liegt sehr still, die Sensoren können nicht geprüft "
                           "werden: Arme und Beine des Kindes einige Sekunden sanft bewegen.",
        "sensor_lost": "Der Sensor am {position} sendet nicht mehr, die Aufnahme wurde "
                       "beendet. Sensor prüfen, dann erneut Start drücken.",
        "analysis_failed": "Die Auswertung ist fehlgeschlagen. Die Aufnahme bleibt erhalten "
                           "und kann erneut ausgewertet werden. Bitte die Technik verständigen.",
        "service_down": "Ein Teil des Geräts läuft nicht ({service}). Gerät neu starten; "
                        "wenn es wieder auftritt, bitte die Technik verständigen.",
        "out_of_view": "Das Kind ist nicht ganz im Bild der Kamera.",
        "camera_gone": "Die Kamera sendet keine Bilder: Kabel und Stromversorgung prüfen. Die "
                       "Aufnahme läuft mit den Sensoren weiter.",
        "sensor_gone": "Der Sensor am {position} sendet nicht.",
        "sensor_back": "Der Sensor am {position} sendet wieder.",
        "crying": "Das Kind scheint zu weinen oder unruhig zu sein. Kind beruhigen; die "
                  "Aufnahme läuft weiter.",
        "little_movement": "Das Kind bewegt sich kaum. Schläft das Kind?",
    },
}


@dataclass(frozen=True)
class Problem:
    """Why a session stopped, or a live warning: a key of MESSAGES with its parameters."""

    key: str
    params: dict[str, Param] = field(default_factory=dict)
    detail: str = ""  # for the log and the technician, never shown as the instruction

    def __post_init__(self) -> None:
        if self.key not in MESSAGES["en"]:
            raise ValueError(f"no wording for problem {self.key!r}")
        self.instruction("en")  # every placeholder has its parameter

    def instruction(self, language: Language = "en") -> str:
        """The sentence the nurse reads, in `language`."""
        params: dict[str, Param] = dict(self.params)
        for name in _POSITION_PARAMS:
            position = params.get(name)
            if isinstance(position, str):
                params[name] = POSITIONS[language].get(position, position)
        try:
            return MESSAGES[language][self.key].format(**params)
        except KeyError as exc:
            raise ValueError(f"problem {self.key!r} needs the parameter {exc}") from None

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "params": dict(self.params), "detail": self.detail,
                "instruction": {language: self.instruction(language) for language in LANGUAGES}}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Problem:
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise ValueError(f"problem parameters must be an object, not {params!r}")
        return cls(str(data["key"]), dict(params), str(data.get("detail", "")))
