"""`python -m edge_emotion_runtime.video SOURCE`: the same as `edge-emotion-video SOURCE`."""

import sys

from edge_emotion_runtime.video.cli import main

sys.exit(main())
