"""`python -m edge_emotion_runtime.serve` is `edge-emotion-serve`."""

from edge_emotion_runtime.serve.cli import main

main()
