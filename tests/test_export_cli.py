"""`edge-emotion export` end to end on a tiny real model: conversion of all four modes,
validation through the runtime Classifier, embedded metadata, quantization arithmetic, errors,
and that failures never leave a half-written model under its final name.

The 1-epoch `tiny_run` model outputs ~0.5 for every image (it has barely trained), so any
export would flip labels by rounding alone and Keras itself predicts one class. The
`sharp_run` fixture copies that run and replaces only the final sigmoid unit's weights: it
reads the penultimate features along their first principal component, scaled so logits span
about +-6, with the decision boundary in the widest gap between images. Same architecture and
conv/dense stack, but a model that predicts both classes with clear margins - which makes the
1-point accuracy rule and the single-class rule meaningful on 8 validation images.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import invoke

from edge_emotion.export.types import ExportMode, ExportOptions, IoType, Status
from edge_emotion.rundir import RunDir
from edge_emotion_runtime.metadata import METADATA_FILENAME, read_metadata, sha256_file

pytestmark = pytest.mark.slow

CALIB = "24"  # the tiny run's train split has 32 images


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the real `edge-emotion` entry point in-process; (exit code, stdout, stderr)."""
    return invoke(args)


def _copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("export"))
    return dst


@pytest.fixture(scope="session")
def sharp_run(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import keras

    from edge_emotion.training.dataset import load_split

    out = _copy_run(tiny_run, tmp_path_factory.mktemp("export-sharp") / "run")
    run = RunDir.open(out)
    model = keras.models.load_model(run.model_path, compile=False)
    head = model.layers[-1]
    features = keras.Model(model.inputs, head.input)
    xs = {s: load_split(run, s).x() for s in ("train", "val", "test")}
    feats = {s: features.predict(x, verbose=0) for s, x in xs.items()}
    stacked = np.concatenate(list(feats.values()))
    # Read out along the features' first principal component: the direction in which these
    # images differ most, so int8 rounding of the features is small against the spread.
    _, _, vt = np.linalg.svd(stacked - stacked.mean(axis=0), full_matrices=False)
    kernel = vt[0][:, None].astype(np.float32)
    every = np.sort((stacked @ kernel).ravel())
    middle = every[len(every) // 4 : 3 * len(every) // 4 + 1]
    gap = int(np.argmax(np.diff(middle)))
    boundary = (middle[gap] + middle[gap + 1]) / 2
    gain = 3.0 / (float(np.std(every)) or 1.0)  # logits span about +-6
    head.set_weights([kernel * gain, np.array([-boundary * gain], dtype=np.float32)])
    for split in ("val", "test"):
        p = model.predict(xs[split], verbose=0).ravel()
        assert 0 < np.sum(p > 0.5) < len(p), f"sharpened model is constant on {split}"
    model.save(run.model_path)
    return out


@pytest.fixture(scope="session")
def exported(sharp_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All four modes exported once through the library façade (the CLI test does its own)."""
    from edge_emotion.export.exporter import export_run

    out = tmp_path_factory.mktemp("export-all")
    report = export_run(sharp_run, ExportOptions(calibration_samples=24, out_dir=out))
    assert report.passed, [r.validation.reasons for r in report.results]
    return out


def test_cli_exports_and_validates_all_four_modes(sharp_run, tmp_path, capsys):
    run = _copy_run(sharp_run, tmp_path / "run")
    code, out, err = run_cli(
        ["export", "--model", str(run), "--quantize", "all", "--calibration-samples", CALIB], capsys
    )
    assert code == 0, err
    export_dir = run / "export"
    report = json.loads((export_dir / "export_report.json").read_text())
    assert report["status"] == "passed"
    assert set(report["results"]) == {"float32", "float16", "dynamic", "int8"}
    for mode, result in report["results"].items():
        assert (export_dir / f"{mode}.tflite").is_file()
        assert (export_dir / f"{mode}.json").is_file()
        assert result["status"] == "passed"
        for split in ("val", "test"):
            cmp = result["validation"]["splits"][split]
            assert cmp["agreement"] == 1.0, (mode, split, cmp)
            assert cmp["accuracy_drop_points"] <= 1.0
            assert cmp["predicted_classes"] == [0, 1]
    ratios = {m: r["ratio_to_float32"] for m, r in report["results"].items()}
    assert ratios["float32"] == 1.0
    assert 0.45 < ratios["float16"] < 0.55
    assert ratios["int8"] < 0.3 and ratios["dynamic"] < 0.3
    # The readable table: one row per mode with its status.
    rows = [line.split() for line in out.splitlines()]
    assert {r[0] for r in rows if r and r[-1] == "passed"} == set(ratios)
    assert not [p for p in export_dir.iterdir() if p.name.startswith(".")]


def test_metadata_round_trips_from_the_tflite_with_zipfile_only(exported, sharp_run):
    for mode in ExportMode:
        path = exported / f"{mode.value}.tflite"
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            meta = json.loads(archive.read(METADATA_FILENAME))
        sidecar = json.loads((exported / f"{mode.value}.json").read_text())
        # The sidecar is the embedded metadata plus the per-image calibration list.
        embedded_calibration, full_calibration = meta.pop("calibration"), sidecar.pop("calibration")
        assert meta == sidecar
        assert "samples" not in embedded_calibration
        assert {k: v for k, v in full_calibration.items() if k != "samples"} == {
            k: v for k, v in embedded_calibration.items() if k != "samples_listed_in"
        }
        if full_calibration:
            assert len(full_calibration["samples"]) == full_calibration["count"]
        assert meta["export_mode"] == mode.value
        assert meta["labels"] == ["happy", "sad"] and meta["positive_index"] == 1
        assert meta["threshold"] == 0.5
        assert meta["preprocess"]["height"] == 32 and meta["preprocess"]["channels"] == 3
        assert meta["preprocess"]["divisor"] == 255.0
        assert meta["source_model_sha256"] == sha256_file(Path(sharp_run) / "model.keras")
        assert meta["toolkit_version"].startswith("edge-emotion ")
        assert meta["arch"] == "seed"
        assert meta["validation_status"] == "passed"
        assert set(meta["validation"]["splits"]) == {"val", "test"}
        # The flatbuffer before the archive is what the metadata says it is.
        assert data[4:8] == b"TFL3" and meta["model_bytes"] < len(data)
        assert read_metadata(path).export_mode == mode.value
    int8 = json.loads((exported / "int8.json").read_text())
    assert int8["calibration"]["count"] == 24
    assert int8["calibration"]["split"] == "train"
    assert int8["input_quantization"]["dtype"] == "int8"


def test_exported_models_carry_the_runs_framing_so_photos_need_no_default(
    exported, sharp_run, tmp_path
):
    import warnings

    from edge_emotion_runtime.classifier import ModelWarning
    from edge_emotion_runtime.crop import FER_FRAMINGS, framings_from_metadata, photo_crop_metadata
    from edge_emotion_runtime.metadata import embed
    from edge_emotion_runtime.photo import PhotoClassifier

    recorded = RunDir.open(sharp_run).config()["crop"]
    assert "short" in recorded["framings"]
    # The model carries the run's measured framing and, for real photos, the same 1.25x tighter.
    for mode in ("float32", "int8"):
        meta = read_metadata(exported / f"{mode}.tflite")
        assert meta is not None and meta.crop == photo_crop_metadata(recorded, 1.25), mode
        assert meta.crop["measured_framings"] == recorded["framings"]
        assert meta.crop["framings"]["short"]["face_fraction"] == round(
            recorded["framings"]["short"]["face_fraction"] * 1.25, 4
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelWarning)
        photo = PhotoClassifier.load(exported / "int8.tflite", detector="short", quiet=True)
    assert photo.framing == framings_from_metadata(photo_crop_metadata(recorded))["short"]
    assert photo.framing != FER_FRAMINGS["short"]
    # Control: the same model without its crop section falls back to FER's framing, warning.
    bare = tmp_path / "no-crop.tflite"
    data = (exported / "int8.tflite").read_bytes()
    bare.write_bytes(embed(data, read_metadata(exported / "int8.tflite").with_updates(crop={})))
    fallback = PhotoClassifier.load(bare, detector="short", quiet=True)
    assert fallback.framing == FER_FRAMINGS["short"]
    with pytest.warns(ModelWarning, match="no recorded face framing"):  # said when it crops
        fallback.analyze(Path(__file__).parent / "fixtures" / "photos" / "astronaut-256.jpg")


def test_embedded_quantization_is_what_the_interpreter_reports(exported):
    from ai_edge_litert.interpreter import Interpreter

    for mode in ExportMode:
        meta = read_metadata(exported / f"{mode.value}.tflite")
        interpreter = Interpreter(model_path=str(exported / f"{mode.value}.tflite"))
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
        assert meta.input_quantization.dtype == np.dtype(inp["dtype"]).name
        assert meta.output_quantization.dtype == np.dtype(out["dtype"]).name
        if mode is ExportMode.INT8:
            assert meta.input_quantization.scale == pytest.approx(inp["quantization"][0])
            assert meta.input_quantization.zero_point == inp["quantization"][1]
            assert meta.output_quantization.scale == pytest.approx(out["quantization"][0])
        else:
            assert meta.input_quantization.dtype == "float32"


def test_int8_input_is_quantized_for_0_to_1_pixels(exported):
    """[0, 1] inputs calibrate to scale 1/255 and zero point -128: q = pixel - 128 exactly."""
    meta = read_metadata(exported / "int8.tflite")
    assert meta.input_quantization.dtype == "int8"
    assert meta.input_quantization.scale == pytest.approx(1 / 255, rel=1e-3)
    assert meta.input_quantization.zero_point == -128
    assert meta.output_quantization.dtype == "int8"
    # A sigmoid output in [0, 1] gets TFLite's fixed 1/256 scale, zero point -128.
    assert meta.output_quantization.scale == pytest.approx(1 / 256)
    assert meta.output_quantization.zero_point == -128


def _run_raw(path: Path, x: np.ndarray) -> np.ndarray:
    """P(sad) from the raw LiteRT interpreter; int8 I/O quantized and dequantized by hand with
    the tensors' own scale and zero point (real = scale * (q - zero_point))."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    results = []
    for image in x:
        feed = image[None]
        if inp["dtype"] == np.int8:
            scale, zero = inp["quantization"]
            feed = np.clip(np.round(feed / scale) + zero, -128, 127).astype(np.int8)
        interpreter.set_tensor(inp["index"], feed)
        interpreter.invoke()
        y = interpreter.get_tensor(out["index"]).astype(np.float32).ravel()[0]
        if out["dtype"] == np.int8:
            scale, zero = out["quantization"]
            y = scale * (y - zero)
        results.append(y)
    return np.array(results, dtype=np.float32)


# Tolerance of the int8 model against float32, in probability. The output step is 1/256 ~ 0.004
# and input rounding is at most half a pixel level; a shallow conv model adds a few output steps.
# 0.03 still catches any wrong scale, zero point or sign (each moves probabilities by > 0.1).
INT8_TOLERANCE = 0.03


def test_int8_arithmetic_matches_float_model_within_tolerance(sharp_run, tmp_path):
    """A small conv model whose outputs span (0, 1): quantize real test images by hand with the
    int8 model's input scale/zero point, dequantize its output, compare with float32 and Keras."""
    import keras

    from edge_emotion.export.calibration import build_calibration
    from edge_emotion.export.quantizers.tflite_converter import TFLiteConverterQuantizer
    from edge_emotion.training.dataset import load_split

    run = RunDir.open(sharp_run)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    head = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, head(x))
    features = keras.Model(inputs, x)
    calib = build_calibration(run, 24, seed=0, source_model_sha256="", labels=("happy", "sad"))
    test_x = load_split(run, "test").x()
    kernel = head.get_weights()[0]
    z = (features.predict(np.concatenate([calib.x, test_x]), verbose=0) @ kernel).ravel()
    gain = 2.0 / (float(np.std(z)) or 1.0)  # logits spread over about +-4
    head.set_weights([kernel * gain, np.array([-np.median(z) * gain], dtype=np.float32)])

    # This test is about the arithmetic, not about generalising calibration ranges, so the test
    # images are calibrated too: no activation of theirs is clipped to a narrower train range.
    representative = np.concatenate([calib.x, test_x])
    quantizer = TFLiteConverterQuantizer()
    for mode in (ExportMode.FLOAT32, ExportMode.INT8):
        data = quantizer.convert(model, mode, representative, IoType.INT8)
        (tmp_path / f"{mode.value}.tflite").write_bytes(data)
    p_keras = model.predict(test_x, verbose=0).ravel()
    p_f32 = _run_raw(tmp_path / "float32.tflite", test_x)
    p_int8 = _run_raw(tmp_path / "int8.tflite", test_x)
    assert p_keras.min() < 0.3 and p_keras.max() > 0.7  # the check is not done near 0.5 only
    assert np.max(np.abs(p_f32 - p_keras)) < 1e-5
    assert np.max(np.abs(p_int8 - p_f32)) < INT8_TOLERANCE


def test_runtime_classifier_does_the_same_int8_arithmetic(exported, sharp_run):
    """The device code path (Classifier.probabilities) equals the hand-written arithmetic."""
    from edge_emotion.training.dataset import load_split
    from edge_emotion_runtime.classifier import Classifier

    x = load_split(RunDir.open(sharp_run), "test").x()
    by_hand = _run_raw(exported / "int8.tflite", x)
    runtime = Classifier.load(exported / "int8.tflite").probabilities(x)
    assert np.allclose(runtime, by_hand, atol=1e-6)


@pytest.mark.parametrize(
    ("io_type", "dtype", "zero_point"), [("uint8", "uint8", 0), ("float", "float32", None)]
)
def test_io_option_sets_the_int8_models_input_and_output_type(
    sharp_run, tmp_path, io_type, dtype, zero_point
):
    from edge_emotion.export.exporter import export_run

    report = export_run(
        sharp_run,
        ExportOptions(
            modes=(ExportMode.INT8,),
            io_type=IoType(io_type),
            calibration_samples=24,
            out_dir=tmp_path,
        ),
    )
    result = report.result("int8")
    assert result.status is Status.PASSED, result.validation.reasons
    assert result.input_quantization["dtype"] == dtype
    assert result.output_quantization["dtype"] == dtype
    if zero_point is not None:
        assert result.input_quantization["zero_point"] == zero_point
    assert read_metadata(tmp_path / "int8.tflite").input_quantization.dtype == dtype


def test_calibration_draws_only_from_the_train_split_stratified_and_seeded(sharp_run):
    from edge_emotion.export.calibration import build_calibration
    from edge_emotion.training.manifest import read_manifest

    run = RunDir.open(sharp_run)
    by_path = {s.path: s for s in read_manifest(run.manifest_path)}
    first = build_calibration(run, 16, seed=5, source_model_sha256="abc", labels=("happy", "sad"))
    again = build_calibration(run, 16, seed=5, source_model_sha256="abc", labels=("happy", "sad"))
    other = build_calibration(run, 16, seed=6, source_model_sha256="abc", labels=("happy", "sad"))
    chosen = [s["path"] for s in first.manifest.samples]
    assert all(by_path[p].split == "train" for p in chosen)
    assert first.manifest.per_class == {"happy": 8, "sad": 8}  # train is 16/16
    assert chosen == [s["path"] for s in again.manifest.samples]
    assert np.array_equal(first.x, again.x)
    assert set(chosen) != {s["path"] for s in other.manifest.samples}
    assert first.x.dtype == np.float32 and first.x.shape == (16, 32, 32, 3)
    assert first.x.min() >= 0.0 and first.x.max() <= 1.0
    assert all(len(s["sha256"]) == 64 for s in first.manifest.samples)


# ---------------------------------------------------------------- errors: exit 2, nothing written


def _assert_nothing_written(run: Path) -> None:
    assert not (run / "export").exists()


def test_not_a_run_directory_is_one_line_exit_2(tmp_path, capsys):
    code, _, err = run_cli(["export", "--model", str(tmp_path / "nope")], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0 and "no such run directory" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(["export", "--model", str(tmp_path / "empty")], capsys)
    assert code == 2 and "not a run directory" in err
    _assert_nothing_written(tmp_path / "empty")


def test_model_file_that_is_not_keras_is_exit_2(sharp_run, tmp_path, capsys):
    run = _copy_run(sharp_run, tmp_path / "run")
    (run / "model.keras").write_bytes(b"this is not a model")
    code, _, err = run_cli(["export", "--model", str(run)], capsys)
    assert code == 2 and "not a loadable Keras model" in err
    assert err.strip().count("\n") == 0
    _assert_nothing_written(run)


def test_model_without_a_single_sigmoid_output_is_exit_2(sharp_run, tmp_path, capsys):
    import keras

    run = _copy_run(sharp_run, tmp_path / "run")
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x)).save(run / "model.keras")
    code, _, err = run_cli(["export", "--model", str(run)], capsys)
    assert code == 2 and "expected one sigmoid unit" in err
    keras.Model(inputs, keras.layers.Dense(1, activation="relu")(x)).save(run / "model.keras")
    code, _, err = run_cli(["export", "--model", str(run)], capsys)
    assert code == 2 and "activation 'relu'" in err
    _assert_nothing_written(run)


def test_unknown_mode_is_exit_2_and_writes_nothing(sharp_run, tmp_path, capsys):
    run = _copy_run(sharp_run, tmp_path / "run")
    code, _, err = run_cli(["export", "--model", str(run), "--quantize", "int4"], capsys)
    assert code == 2 and "unknown --quantize mode 'int4'" in err
    _assert_nothing_written(run)


def test_too_small_calibration_set_is_exit_2_and_writes_nothing(sharp_run, tmp_path, capsys):
    run = _copy_run(sharp_run, tmp_path / "run")
    code, _, err = run_cli(["export", "--model", str(run), "--quantize", "int8"], capsys)
    assert code == 2 and "fewer than the 200 calibration samples" in err
    _assert_nothing_written(run)


def test_existing_outputs_need_force_and_force_never_replaces_foreign_files(
    exported, sharp_run, tmp_path, capsys
):
    out = tmp_path / "out"
    shutil.copytree(exported, out)
    before = (out / "float16.tflite").read_bytes()
    args = ["export", "--model", str(sharp_run), "--quantize", "float16", "--out", str(out)]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "pass --force" in err
    assert (out / "float16.tflite").read_bytes() == before
    (out / "float16.tflite").write_bytes(b"a user's own file")
    code, _, err = run_cli([*args, "--force"], capsys)
    assert code == 2 and "not written by edge-emotion export" in err
    assert (out / "float16.tflite").read_bytes() == b"a user's own file"
    (out / "float16.tflite").write_bytes(before)
    (out / "notes.txt").write_text("keep me")
    code, _, err = run_cli([*args, "--force"], capsys)
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "int8.tflite").is_file()  # another mode's earlier output is left alone


# ---------------------------------------------------------------- failures keep disks consistent


class _FailingOn:
    """A real converter that raises for one mode, like a converter crash half-way."""

    name = "failing"

    def __init__(self, mode: ExportMode) -> None:
        from edge_emotion.export.quantizers.tflite_converter import TFLiteConverterQuantizer

        self.inner = TFLiteConverterQuantizer()
        self.mode = mode

    def describe(self) -> str:
        return "failing test converter"

    def convert(self, model, mode, representative_data, io_type):
        from edge_emotion.export.quantizers.base import ConversionError

        if mode is self.mode:
            raise ConversionError(f"{mode.value}: simulated converter crash")
        return self.inner.convert(model, mode, representative_data, io_type)


def test_converter_crash_leaves_no_model_file_behind(sharp_run, tmp_path):
    from edge_emotion.export.exporter import export_run
    from edge_emotion.export.quantizers.base import ConversionError

    out = tmp_path / "out"
    with pytest.raises(ConversionError, match="simulated converter crash"):
        export_run(
            sharp_run,
            ExportOptions(calibration_samples=24, out_dir=out),
            quantizer=_FailingOn(ExportMode.INT8),
        )
    assert not out.exists() or not list(out.iterdir())


def test_crash_during_validation_leaves_no_final_or_temporary_file(
    sharp_run, tmp_path, monkeypatch
):
    from edge_emotion.export import exporter

    def crash(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(exporter, "validate_model", crash)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        exporter.export_run(sharp_run, ExportOptions(modes=(ExportMode.FLOAT16,), out_dir=out))
    assert list(out.iterdir()) == []


class _ConstantModel:
    """Exports a *different*, real model that answers 'sad' for every image - what a broken
    calibration looks like from the outside."""

    name = "constant"

    def describe(self) -> str:
        return "constant test converter"

    def convert(self, model, mode, representative_data, io_type):
        import keras

        from edge_emotion.export.quantizers.tflite_converter import TFLiteConverterQuantizer

        inputs = keras.Input(model.inputs[0].shape[1:])
        x = keras.layers.GlobalAveragePooling2D()(inputs)
        out = keras.layers.Dense(
            1,
            activation="sigmoid",
            kernel_initializer="zeros",
            bias_initializer=keras.initializers.Constant(5.0),
        )(x)
        return TFLiteConverterQuantizer().convert(
            keras.Model(inputs, out), mode, representative_data, io_type
        )


def test_broken_model_fails_validation_exit_1_and_is_kept_marked_failed(
    sharp_run, tmp_path, capsys, monkeypatch
):
    from edge_emotion.export import quantizers

    monkeypatch.setitem(quantizers._FACTORIES, "constant", _ConstantModel)
    run = _copy_run(sharp_run, tmp_path / "run")
    code, out, err = run_cli(
        ["export", "--model", str(run), "--quantize", "float32", "--quantizer", "constant"], capsys
    )
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "validation failed for float32" in errors[0], err
    assert "Traceback" not in err
    assert "FAILED float32" in out and "predicts 'sad' for all" in out
    meta = read_metadata(run / "export" / "float32.tflite")
    assert meta.validation_status == "failed"
    assert any("predicts 'sad'" in r for r in meta.validation["reasons"])
    report = json.loads((run / "export" / "export_report.json").read_text())
    assert report["status"] == "failed"
    assert report["results"]["float32"]["status"] == "failed"


def test_strip_writes_a_bare_flatbuffer_the_runtime_loads_with_a_warning(
    sharp_run, tmp_path, capsys
):
    from edge_emotion_runtime.classifier import Classifier, ModelWarning

    out = tmp_path / "out"
    args = ["export", "--model", str(sharp_run), "--quantize", "int8", "--strip", "--out", str(out)]
    code, _, err = run_cli([*args, "--calibration-samples", CALIB], capsys)
    assert code == 0, err
    full, bare = out / "int8.tflite", out / "int8.bare.tflite"
    assert read_metadata(bare) is None and not zipfile.is_zipfile(bare)
    assert full.read_bytes().startswith(bare.read_bytes())
    report = json.loads((out / "export_report.json").read_text())
    assert report["results"]["int8"]["bare_path"] == str(bare)
    with pytest.warns(ModelWarning, match="no embedded metadata"):
        stripped = Classifier.load(bare, threads=1, quiet=True)
    model = Classifier.load(full, threads=1, quiet=True)
    pixels = np.random.default_rng(3).integers(0, 256, (5, *model.spec.shape), dtype=np.uint8)
    assert [stripped.predict(p).p_happy for p in pixels] == [
        model.predict(p).p_happy for p in pixels
    ]
    # Its own earlier bare file is replaced with --force; a foreign one never is.
    code, _, err = run_cli([*args, "--calibration-samples", CALIB, "--force"], capsys)
    assert code == 0, err
    bare.write_bytes(b"not ours")
    code, _, err = run_cli([*args, "--calibration-samples", CALIB, "--force"], capsys)
    assert code == 2 and "int8.bare.tflite" in err
