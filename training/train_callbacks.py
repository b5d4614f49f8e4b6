"""The Keras callbacks of a fit, built on demand (Keras is imported only once training starts):
EMA weight swapping and early stopping, one line per epoch, the multi-worker history and weights
backup, and a test hook that pauses after each epoch."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from edge_emotion.rundir import write_json
from edge_emotion.training import multiworker
from edge_emotion.training.models import Recipe
from edge_emotion.training.tfenv import import_keras
from edge_emotion.training.train_resume import BACKUP_HISTORY_FILE, Resume

TEST_PAUSE_ENV = "EDGE_EMOTION_TEST_EPOCH_PAUSE"


def fit_callbacks(hp: Recipe, resumed: Resume, line: Any) -> list[Any]:
    """Every callback of the fit, in the order they must run."""
    keras = import_keras()
    callbacks = [
        # With --ema: the averaged weights are in the model for validation and at each
        # epoch's end, so early stopping judges and keeps them (it must come after this).
        *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if hp.ema > 0 else []),
        # Restores the best epoch's weights at the end whether or not it stopped early, so
        # the model saved below is the best checkpoint; a ModelCheckpoint rewrote the whole
        # model (up to 700 MB at 256x256) on every improving epoch only to be overwritten.
        # Resuming a run is BackupAndRestore's job (multiworker).
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=hp.patience, restore_best_weights=True
        ),
    ]
    if resumed.backup is not None:
        callbacks += [
            history_saver(resumed.backup, resumed.past),
            multiworker.keras_backup(str(resumed.backup)),
        ]
    return [*callbacks, line, *_test_pause()]


def epoch_line_callback(total: int) -> Any:
    keras = import_keras()

    class EpochLine(keras.callbacks.Callback):
        """One line per epoch on stdout: train/val loss, accuracy, precision, recall, time; and
        the batches each epoch ran (`steps`: streamed shards have no length known up front).

        The bar within an epoch, on a terminal, is Keras's own (`fit(verbose=1)`).
        """

        def __init__(self) -> None:
            super().__init__()
            self.steps: list[int] = []  # batches per epoch (global batches under a strategy)

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()
            self._batches = 0

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self._batches = batch + 1

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            logs = logs or {}
            seconds = time.perf_counter() - self._start
            self.steps.append(self._batches)

            def part(prefix: str) -> str:
                return (
                    f"loss {logs.get(prefix + 'loss', float('nan')):.4f} "
                    f"acc {logs.get(prefix + 'accuracy', float('nan')):.3f} "
                    f"prec {logs.get(prefix + 'precision', float('nan')):.3f} "
                    f"rec {logs.get(prefix + 'recall', float('nan')):.3f}"
                )

            width = len(str(total))
            print(
                f"epoch {epoch + 1:>{width}}/{total}  train {part('')}  |  "
                f"val {part('val_')}  auc {logs.get('val_auc', float('nan')):.3f}  "
                f"{seconds:.1f}s",
                flush=True,
            )

    return EpochLine()


def history_saver(backup: Path, past: dict[str, list[float]]) -> Any:
    keras = import_keras()

    class HistorySaver(keras.callbacks.Callback):
        """Keeps the per-epoch logs next to the weights backup, so a resumed run's history.json
        still has every epoch. Runs before BackupAndRestore: the history is never behind."""

        def __init__(self) -> None:
            super().__init__()
            self.history = {k: list(v) for k, v in past.items()}

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            write_json(backup / BACKUP_HISTORY_FILE, self.history)

    return HistorySaver()


def _test_pause() -> list[Any]:
    """A test hook: with EDGE_EMOTION_TEST_EPOCH_PAUSE=SECONDS, sleep after each epoch's backup so
    the fault-tolerance test can kill this worker at a known point. Unset: nothing."""
    seconds = float(os.environ.get(TEST_PAUSE_ENV) or 0)
    if seconds <= 0:
        return []
    keras = import_keras()

    class Pause(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            time.sleep(seconds)

    return [Pause()]
