"""Deterministic, stratified, duplicate-aware train/val/test split.

Exact duplicates (same sha256) form a group that always lands in one split, so no test image is
also a training image. The order of groups within a class comes from hashing (seed, content hash),
so the split depends only on the seed and the image contents, not on file names or listing order.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from edge_emotion.training.discovery import Candidate
from edge_emotion.training.manifest import Sample

FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}
# When the dataset fixes its own test set, the rest is split 85/15.
VAL_FRACTION_WITH_TEST = 0.15


@dataclass(frozen=True)
class SplitResult:
    samples: list[Sample]
    duplicate_images: int  # images that repeat an earlier image exactly
    duplicate_groups: int  # distinct images that occur more than once
    conflicting_groups: int  # duplicate groups whose copies carry different labels


def _order_key(seed: int, digest: str) -> str:
    return hashlib.sha256(f"{seed}:{digest}".encode()).hexdigest()


def _counts(n: int, val_frac: float, test_frac: float) -> tuple[int, int]:
    """(n_val, n_test) for n groups: rounded shares, at least one each when n >= 3."""
    n_val, n_test = round(n * val_frac), round(n * test_frac)
    if n >= 3:
        n_val, n_test = max(1, n_val), max(1, n_test) if test_frac else 0
    while n_val + n_test >= n and n > 0 and (n_val or n_test):
        if n_val >= n_test and n_val:
            n_val -= 1
        else:
            n_test -= 1
    return n_val, n_test


def assign_splits(candidates: Sequence[Candidate], hashes: Sequence[str], seed: int) -> SplitResult:
    """One `Sample` per candidate, each with its split."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, digest in enumerate(hashes):
        groups[digest].append(index)
    preset_test = any(c.preset_split == "test" for c in candidates)

    group_split: dict[str, str] = {}
    by_class: dict[int, list[str]] = defaultdict(list)
    for digest, members in groups.items():
        if preset_test and any(candidates[i].preset_split == "test" for i in members):
            group_split[digest] = "test"  # a copy is in the given test set: keep them together
        else:
            label = min(candidates[i].label for i in members)
            by_class[label].append(digest)

    val_frac = VAL_FRACTION_WITH_TEST if preset_test else FRACTIONS["val"]
    test_frac = 0.0 if preset_test else FRACTIONS["test"]
    for _label, digests in sorted(by_class.items()):
        digests.sort(key=lambda d: _order_key(seed, d))
        n_val, n_test = _counts(len(digests), val_frac, test_frac)
        for position, digest in enumerate(digests):
            if position < n_test:
                group_split[digest] = "test"
            elif position < n_test + n_val:
                group_split[digest] = "val"
            else:
                group_split[digest] = "train"

    samples = [
        Sample(c.path, c.label, group_split[h], h) for c, h in zip(candidates, hashes, strict=True)
    ]
    samples.sort(key=lambda s: s.path)
    dup_groups = [m for m in groups.values() if len(m) > 1]
    return SplitResult(
        samples=samples,
        duplicate_images=sum(len(m) - 1 for m in dup_groups),
        duplicate_groups=len(dup_groups),
        conflicting_groups=sum(1 for m in dup_groups if len({candidates[i].label for i in m}) > 1),
    )
