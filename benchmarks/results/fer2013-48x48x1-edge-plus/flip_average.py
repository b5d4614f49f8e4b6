"""How the edge-plus-flip row was made (measurement only; not a shipped code path).

Copies a run and replaces its model.keras by a flip-averaging version: the backbone runs on x and
on x flipped left-right (a fixed permutation matrix, so int8 keeps it exact), the two pooled
feature vectors are averaged and the run's own sigmoid head reads the mean (one invoke, two
views). metrics.json is recomputed; then `edge-emotion export` as usual.

    python flip_average.py RUN_DIR OUT_RUN_DIR
"""

import json
import os
import shutil
import sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
from pathlib import Path

import numpy as np

from edge_emotion.rundir import RunDir
from edge_emotion.training.dataset import load_split
from edge_emotion.training.metrics import binary_metrics
from edge_emotion.training.tfenv import import_keras

keras = import_keras()
L = keras.layers
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
if dst.exists():
    shutil.rmtree(dst)
shutil.copytree(src, dst, ignore=shutil.ignore_patterns("export"))
run = RunDir.open(dst)
m = keras.models.load_model(run.model_path)
spec = run.preprocess_spec()
w = spec.width
backbone = keras.Model(m.inputs, m.get_layer("pool").output, name="backbone")
head = m.get_layer("p_sad")
x = keras.Input(shape=spec.shape, name="image")
t = L.Permute((1, 3, 2), name="flip_in")(x)
d = L.Dense(w, use_bias=False, trainable=False, name="flip")
f = L.Permute((1, 3, 2), name="flip_out")(d(t))
feats = L.Average(name="tta_mean")([backbone(x), backbone(f)])
out = L.Dense(1, activation="sigmoid", name="p_sad")(feats)
tta = keras.Model(x, out, name=m.name + "_flipavg")
d.set_weights([np.eye(w, dtype=np.float32)[::-1]])
tta.get_layer("p_sad").set_weights(head.get_weights())
tta.save(run.model_path)
metrics = json.loads(run.metrics_path.read_text())
for split in ("val", "test"):
    data = load_split(run, split)
    p = tta.predict(data.x(), batch_size=64, verbose=0).reshape(-1)
    metrics[split] = binary_metrics(data.labels, p, 0.5, ("happy", "sad"))
    y = data.labels
    yh = (p >= 0.5).astype(int)
    acc, r_happy, r_sad = (yh == y).mean(), (yh[y == 0] == 0).mean(), (yh[y == 1] == 1).mean()
    print(f"{split} acc {acc:.4f} happy {r_happy:.4f} sad {r_sad:.4f}")
run.metrics_path.write_text(json.dumps(metrics, indent=2))
cfg = json.loads(run.config_path.read_text())
cfg["tta"] = "flip: features of x and flip(x) averaged before the head (flip_average.py)"
cfg["model"]["parameters"] = int(tta.count_params())
run.config_path.write_text(json.dumps(cfg, indent=2))
(dst / "model.h5").unlink(missing_ok=True)
