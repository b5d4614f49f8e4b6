"""`edge-emotion evaluate-photos`: how the device pipeline does on folders of labelled photos.

Uses only the runtime's public API (`PhotoClassifier`), never TensorFlow, so the figures are those
of what a device runs. One job per module: `dataset` finds the photos, `pipeline` turns flags
into `PhotoClassifier` arguments, `run` analyses every photo, `metrics` scores the records,
`report` prints, `outputs` writes the files, `sheet` draws the contact sheets.
"""

from __future__ import annotations
