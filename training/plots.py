"""accuracy.png and loss.png: train vs val per epoch (matplotlib, headless)."""

from __future__ import annotations

import io
from pathlib import Path

from edge_emotion_runtime.metadata import write_atomic


def plot_history(history: dict[str, list[float]], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    val_loss = history.get("val_loss") or []
    best = min(range(len(val_loss)), key=val_loss.__getitem__) + 1 if val_loss else None

    written = []
    for metric, title in (("accuracy", "Accuracy"), ("loss", "Loss")):
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        for key, name in ((metric, "train"), (f"val_{metric}", "val")):
            values = history.get(key) or []
            ax.plot(range(1, len(values) + 1), values, marker="o", label=name)
        if best is not None:
            ax.axvline(best, color="grey", linestyle="--", lw=1, label=f"best (epoch {best})")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(fig)
        path = out_dir / f"{metric}.png"
        write_atomic(path, buffer.getvalue())
        written.append(path)
    return written
