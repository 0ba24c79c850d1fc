"""Importers of keypoint data that research groups already have, into the recording format.

Each reads a source folder (one file or folder per recording, plus `labels.csv`: see
`labels`) and writes a new dataset of recordings with one `pose` stream each, `source`
"import", in the source's joint set: numpy arrays (`arrays`), OpenPose JSON (`openpose`),
Azure Kinect body tracking JSON (`k4abt`). Bad input raises `KeypointImportError` naming the
file (and row), and leaves no dataset behind.
"""

from edge.fm.importers.arrays import SKELETONS, import_arrays
from edge.fm.importers.dataset import ImportedRecording, ImportResult
from edge.fm.importers.k4abt import import_k4abt
from edge.fm.importers.openpose import import_openpose

__all__ = [
    "SKELETONS",
    "ImportResult",
    "ImportedRecording",
    "import_arrays",
    "import_k4abt",
    "import_openpose",
]
