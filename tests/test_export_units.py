"""Pure-python parts of the export step: mode parsing, calibration sampling, pass/fail rules,
report rendering. No TensorFlow, so these run in milliseconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_emotion.errors import DataError, UsageError
from edge_emotion.export.calibration import stratified_indices
from edge_emotion.export.report import render_table
from edge_emotion.export.types import (
    ExportMode,
    ExportOptions,
    ExportReport,
    ExportResult,
    IoType,
    Status,
    Validation,
)
from edge_emotion.export.validate import compare, judge

NAMES = ("happy", "sad")


def test_quantize_all_expands_to_every_mode_in_canonical_order():
    assert ExportMode.parse_many(["all"]) == tuple(ExportMode)
    assert ExportMode.parse_many(["int8", "float32", "int8"]) == (
        ExportMode.FLOAT32,
        ExportMode.INT8,
    )
    assert ExportMode.parse_many(["dynamic,float16"]) == (ExportMode.FLOAT16, ExportMode.DYNAMIC)


def test_unknown_mode_or_io_type_is_a_usage_error_with_exit_code_2():
    with pytest.raises(UsageError, match="unknown --quantize mode 'int4'") as err:
        ExportMode.parse_many(["int4"])
    assert err.value.exit_code == 2
    with pytest.raises(UsageError, match="unknown --io"):
        IoType.parse("int16")


def test_options_reject_nonsense_values():
    with pytest.raises(UsageError, match="--calibration-samples"):
        ExportOptions(calibration_samples=0)
    with pytest.raises(UsageError, match="--max-drop"):
        ExportOptions(max_drop=-1.0)


def _labels(n0: int, n1: int) -> tuple[np.ndarray, list[str]]:
    labels = np.array([0] * n0 + [1] * n1)
    keys = [f"{'happy' if v == 0 else 'sad'}/{i:04d}.jpg" for i, v in enumerate(labels)]
    return labels, keys


def test_calibration_draw_is_stratified_in_proportion_to_class_sizes():
    labels, keys = _labels(600, 400)
    idx = stratified_indices(labels, keys, 200, seed=3)
    assert len(idx) == len(set(idx)) == 200
    assert np.bincount(labels[idx]).tolist() == [120, 80]


def test_calibration_draw_is_deterministic_per_seed_and_independent_of_input_order():
    labels, keys = _labels(60, 40)
    a = stratified_indices(labels, keys, 30, seed=1)
    b = stratified_indices(labels, keys, 30, seed=1)
    c = stratified_indices(labels, keys, 30, seed=2)
    assert a == b
    assert set(a) != set(c)
    # Same items listed in reverse order: the same files are chosen.
    rev = stratified_indices(labels[::-1], keys[::-1], 30, seed=1)
    assert sorted(keys[::-1][i] for i in rev) == sorted(keys[i] for i in a)


def test_calibration_gives_every_class_at_least_one_image():
    labels, keys = _labels(98, 2)
    idx = stratified_indices(labels, keys, 10, seed=0)
    assert set(labels[idx]) == {0, 1}


def test_calibration_set_too_small_or_missing_a_class_is_a_data_error():
    labels, keys = _labels(5, 5)
    with pytest.raises(DataError, match="only 10 images, fewer than the 11"):
        stratified_indices(labels, keys, 11, seed=0)
    labels, keys = _labels(10, 0)
    with pytest.raises(DataError, match="no images of class"):
        stratified_indices(labels, keys, 5, seed=0)


def _cmp(keras_probs, probs, labels=(0, 0, 1, 1), split="test"):
    return compare(split, np.array(labels), np.array(keras_probs), np.array(probs), 0.5, NAMES)


def test_accuracy_drop_beyond_max_drop_fails_and_says_by_how_much():
    c = _cmp([0.1, 0.2, 0.8, 0.9], [0.1, 0.6, 0.8, 0.9])
    assert c.accuracy_drop_points == pytest.approx(25.0)
    assert c.agreement == pytest.approx(0.75)
    assert c.max_abs_diff == pytest.approx(0.4)
    status, reasons, _ = judge([c], max_drop=1.0, class_names=NAMES)
    assert status is Status.FAILED
    assert "25.00 points below Keras" in reasons[0]
    assert judge([c], max_drop=30.0, class_names=NAMES)[0] is Status.PASSED


def test_constant_prediction_fails_only_where_keras_predicts_both_classes():
    broken = _cmp([0.1, 0.2, 0.8, 0.9], [0.9, 0.9, 0.9, 0.9])
    status, reasons, _ = judge([broken], max_drop=100.0, class_names=NAMES)
    assert status is Status.FAILED
    assert any("predicts 'sad' for all 4 images" in r for r in reasons)
    # An undertrained Keras model that is itself constant: noted, not failed.
    same = _cmp([0.6, 0.6, 0.7, 0.7], [0.61, 0.6, 0.7, 0.69])
    status, reasons, notes = judge([same], max_drop=1.0, class_names=NAMES)
    assert status is Status.PASSED and not reasons
    assert "as Keras does" in notes[0]


def test_constant_prediction_opposite_to_a_constant_keras_fails():
    # Keras says 'sad' (p just above 0.5) everywhere, the quantized model 'happy' everywhere:
    # equal accuracy on a balanced split, 0% agreement.
    flipped = _cmp([0.501, 0.502, 0.501, 0.502], [0.499, 0.499, 0.499, 0.499])
    assert flipped.accuracy_drop_points == pytest.approx(0.0)
    assert flipped.agreement == pytest.approx(0.0)
    status, reasons, _ = judge([flipped], max_drop=1.0, class_names=NAMES)
    assert status is Status.FAILED
    assert "while Keras predicts 'sad' for all of them" in reasons[0]


def test_nan_probabilities_fail_validation():
    c = _cmp([0.1, 0.2, 0.8, 0.9], [0.1, float("nan"), 0.8, 0.9])
    status, reasons, _ = judge([c], max_drop=100.0, class_names=NAMES)
    assert status is Status.FAILED and "NaN" in reasons[0]


def test_report_table_shows_size_ratio_accuracy_agreement_and_status():
    c = _cmp([0.1, 0.2, 0.8, 0.9], [0.1, 0.2, 0.8, 0.9])
    result = ExportResult(
        mode=ExportMode.INT8,
        path=Path("int8.tflite"),
        metadata_path=Path("int8.json"),
        bytes=250_000,
        file_bytes=260_000,
        ratio_to_float32=0.25,
        io_type="int8",
        input_quantization=None,
        output_quantization=None,
        validation=Validation(status=Status.PASSED, splits=(c,)),
        converter="x",
        seconds=1.0,
    )
    report = ExportReport(
        run_dir=Path("run"),
        out_dir=Path("run/export"),
        source_model_sha256="0" * 64,
        arch="seed",
        float32_bytes=1_000_000,
        results=(result,),
        calibration=None,
        options={},
    )
    table = render_table(report)
    header, _rule, row = table.splitlines()
    for column in ("mode", "size", "vs f32", "acc(test)", "agreement", "max|dp|", "status"):
        assert column in header
    assert row.split()[:4] == ["int8", "244.1", "KB", "25.0%"]
    assert row.endswith("passed")
    assert report.to_dict()["results"]["int8"]["ratio_to_float32"] == 0.25
