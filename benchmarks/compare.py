"""Cross-run comparison: the rows every compared run has, side by side, against the first run.

When one `edge-emotion benchmark` invocation measures several runs (`--model A --model B`), rows
that exist in every run with the same variant, backend, thread count and XNNPACK setting (matched
on the row id without its run prefix) are compared: each run's p50 latency, file size and
accuracy, and for every run after the first its speed-up (first run's p50 / its p50), size ratio
(its size / first run's size) and accuracy difference (its accuracy - first run's). Computed from
the rows alone, so `report` can re-render it from benchmark.json.
"""

from __future__ import annotations

from typing import Any


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    metrics = row.get("metrics") or {}
    return {
        "id": row["id"],
        "p50_ms": row["latency"]["p50_ms"],
        "mean_ms": row["latency"]["mean_ms"],
        "min_ms": row["latency"]["min_ms"],
        "file_bytes": row.get("file_bytes"),
        "accuracy": metrics.get("accuracy"),
    }


def compare(doc: dict[str, Any]) -> dict[str, Any]:
    """The `comparison` section of a benchmark document with several runs."""
    names = [r["name"] for r in doc["runs"]]
    reference = names[0]
    by_run: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in names}
    order: list[str] = []
    labels: dict[str, str] = {}
    for row in doc["rows"]:
        key = row.get("key") or row["id"]
        if row.get("run") in by_run and row.get("status") == "ok" and row.get("latency"):
            by_run[row["run"]][key] = row
            if key not in labels:
                order.append(key)
                labels[key] = row["label"]
    rows = []
    for key in order:
        if not all(key in by_run[name] for name in names):
            continue
        figures = {name: _figures(by_run[name][key]) for name in names}
        ref = figures[reference]
        versus = {}
        for name in names[1:]:
            other = figures[name]
            entry: dict[str, Any] = {
                "speedup_p50": ref["p50_ms"] / other["p50_ms"],
                "speedup_mean": ref["mean_ms"] / other["mean_ms"],
            }
            if ref["file_bytes"] and other["file_bytes"]:
                entry["size_ratio"] = other["file_bytes"] / ref["file_bytes"]
            if ref["accuracy"] is not None and other["accuracy"] is not None:
                entry["accuracy_delta"] = other["accuracy"] - ref["accuracy"]
            versus[name] = entry
        rows.append({"key": key, "label": labels[key], "runs": figures, "vs_reference": versus})
    hashes = {r["name"]: (r.get("eval") or {}).get("images_sha256") for r in doc["runs"]}
    same = None if None in hashes.values() else len(set(hashes.values())) == 1
    return {
        "reference": reference,
        "runs": names,
        "same_eval_images": same,
        "note": "speedup = reference p50 / run p50; size_ratio = run file / reference file; "
        "accuracy_delta = run accuracy - reference accuracy; rows present in every run only",
        "rows": rows,
    }


def _size(n: int | None) -> str:
    from edge_emotion.benchmarks.report import _size as size

    return size(n)


def _faster(speedup: float, name: str) -> str:
    if speedup >= 1:
        return f"{name} {speedup:.2f}x faster"
    return f"{name} {1 / speedup:.2f}x slower"


def _acc(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def lines(doc: dict[str, Any]) -> list[str]:
    """One plain-text line per compared row, e.g.
    `int8 litert t2: seed 0.140 ms, edge 0.050 ms -> edge 2.80x faster; 1.1 MB vs 200.0 kB
    (0.18x); acc 0.6915 vs 0.8900 (+0.1985)`."""
    from edge_emotion.benchmarks.report import _ms

    comp = doc.get("comparison")
    if not comp:
        return []
    names = comp["runs"]
    out = []
    for row in comp["rows"]:
        figures = row["runs"]
        latency = ", ".join(f"{n} {_ms(figures[n]['p50_ms'])} ms" for n in names)
        speed = ", ".join(_faster(row["vs_reference"][n]["speedup_p50"], n) for n in names[1:])
        sizes = " vs ".join(_size(figures[n]["file_bytes"]) for n in names)
        ratios = ", ".join(
            f"{row['vs_reference'][n]['size_ratio']:.2f}x"
            for n in names[1:]
            if "size_ratio" in row["vs_reference"][n]
        )
        accs = " vs ".join(_acc(figures[n]["accuracy"]) for n in names)
        deltas = ", ".join(
            f"{row['vs_reference'][n]['accuracy_delta']:+.4f}"
            for n in names[1:]
            if "accuracy_delta" in row["vs_reference"][n]
        )
        out.append(
            f"{row['label']}: {latency} -> {speed}; {sizes}"
            + (f" ({ratios})" if ratios else "")
            + f"; acc {accs}"
            + (f" ({deltas})" if deltas else "")
        )
    return out


def intro(doc: dict[str, Any]) -> str:
    comp = doc["comparison"]
    same = comp.get("same_eval_images")
    where = {
        True: "on the same evaluation images",
        False: "each on its own run's evaluation images (they differ)",
        None: "each on its own run's evaluation images",
    }[same]
    return (
        f"Cross-run comparison against {comp['reference']} (rows every run has; p50 latency, "
        f"speed-up = {comp['reference']} p50 / run p50, size ratio = run / "
        f"{comp['reference']}, accuracy {where}):"
    )


def text(doc: dict[str, Any]) -> str:
    """The comparison block under the stdout table ('' with one run)."""
    body = lines(doc)
    if not doc.get("comparison"):
        return ""
    if not body:
        return "\nno row was measured in every run, so there is no cross-run comparison\n"
    return "\n" + intro(doc) + "\n" + "\n".join(f"  {line}" for line in body) + "\n"


def markdown(doc: dict[str, Any]) -> str:
    """A markdown table: per run p50, size and accuracy; per other run the ratios."""
    comp = doc.get("comparison")
    if not comp:
        return ""
    names = comp["runs"]
    others = names[1:]
    headers = ["row"]
    headers += [f"{n} p50 ms" for n in names]
    headers += [f"{n} speed-up" for n in others]
    headers += [f"{n} size" for n in names]
    headers += [f"{n} size ×" for n in others]
    headers += [f"{n} acc" for n in names]
    headers += [f"{n} Δacc" for n in others]
    table = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(headers))) + "|",
    ]
    from edge_emotion.benchmarks.report import _ms

    for row in comp["rows"]:
        f, v = row["runs"], row["vs_reference"]
        cells = [row["label"]]
        cells += [_ms(f[n]["p50_ms"]) for n in names]
        cells += [f"{v[n]['speedup_p50']:.2f}x" for n in others]
        cells += [_size(f[n]["file_bytes"]) for n in names]
        cells += [f"{v[n]['size_ratio']:.3f}" if "size_ratio" in v[n] else "-" for n in others]
        cells += [_acc(f[n]["accuracy"]) for n in names]
        cells += [
            f"{v[n]['accuracy_delta']:+.4f}" if "accuracy_delta" in v[n] else "-" for n in others
        ]
        table.append("| " + " | ".join(cells) + " |")
    if not comp["rows"]:
        table = ["No row was measured in every run."]
    return "\n".join(["## Cross-run comparison", "", intro(doc), "", *table]) + "\n"
