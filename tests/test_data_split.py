"""Split: deterministic by seed, stratified 70/15/15 (85/15 with a given test set), duplicates
never spread over two splits."""

from __future__ import annotations

import hashlib
from collections import Counter

from edge_emotion.training.discovery import Candidate
from edge_emotion.training.split import assign_splits


def _pool(n_happy, n_sad, dup_every=0, preset_test_every=0):
    cands, hashes = [], []
    for label, n in ((0, n_happy), (1, n_sad)):
        for i in range(n):
            preset = "test" if preset_test_every and i % preset_test_every == 0 else ""
            cands.append(Candidate(f"{label}/{i}.png", label, preset))
            key = f"{label}-{i // 2}" if dup_every and i % dup_every < 2 else f"{label}-{i}-u"
            hashes.append(hashlib.sha256(key.encode()).hexdigest())
    return cands, hashes


def test_split_is_deterministic_for_a_seed_and_changes_with_it():
    cands, hashes = _pool(100, 60)
    first = assign_splits(cands, hashes, seed=3).samples
    assert first == assign_splits(list(reversed(cands)), list(reversed(hashes)), seed=3).samples
    assert first != assign_splits(cands, hashes, seed=4).samples


def test_split_is_stratified_70_15_15():
    cands, hashes = _pool(200, 100)
    counts = Counter((s.split, s.label) for s in assign_splits(cands, hashes, seed=0).samples)
    assert (counts["train", 0], counts["val", 0], counts["test", 0]) == (140, 30, 30)
    assert (counts["train", 1], counts["val", 1], counts["test", 1]) == (70, 15, 15)


def test_duplicates_never_span_two_splits_and_are_counted():
    cands, hashes = _pool(120, 80, dup_every=4)
    result = assign_splits(cands, hashes, seed=1)
    by_hash: dict[str, set[str]] = {}
    for s in result.samples:
        by_hash.setdefault(s.sha256, set()).add(s.split)
    assert all(len(splits) == 1 for splits in by_hash.values())
    assert result.duplicate_images == result.duplicate_groups > 0
    assert result.duplicate_images == len(cands) - len(set(hashes))


def test_given_test_set_is_kept_and_the_rest_split_85_15():
    cands, hashes = _pool(100, 100, preset_test_every=5)
    samples = assign_splits(cands, hashes, seed=0).samples
    preset = {c.path for c in cands if c.preset_split == "test"}
    assert {s.path for s in samples if s.split == "test"} == preset
    rest = Counter(s.split for s in samples if s.path not in preset)
    assert rest["val"] == 2 * round(80 * 0.15) and rest["train"] == 160 - rest["val"]


def test_a_duplicate_of_a_given_test_image_goes_to_test():
    cands = [
        Candidate("train/happy/a.png", 0),
        Candidate("test/happy/a.png", 0, "test"),
        *[
            Candidate(f"train/{lab}/{i}.png", k)
            for k, lab in enumerate(("happy", "sad"))
            for i in range(10)
        ],
    ]
    hashes = ["same", "same", *[f"u{i}" for i in range(20)]]
    samples = {s.path: s.split for s in assign_splits(cands, hashes, seed=0).samples}
    assert samples["train/happy/a.png"] == "test"


def test_tiny_classes_still_get_train_val_and_test():
    cands, hashes = _pool(3, 3)
    counts = Counter(s.split for s in assign_splits(cands, hashes, seed=0).samples)
    assert counts == {"train": 2, "val": 2, "test": 2}
