"""`Classifier`: loading and checking models, predictions, quantized I/O, repeated use."""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge_emotion_runtime.classifier import Classifier, ModelWarning, Prediction
from edge_emotion_runtime.errors import ImageError, ModelError
from edge_emotion_runtime.metadata import QuantParams, embed, read_metadata, strip
from edge_emotion_runtime.preprocess import PreprocessSpec, preprocess

FIXTURES = Path(__file__).parent / "fixtures"
IMAGES = FIXTURES / "images"
GRAY_FLOAT = FIXTURES / "tiny_gray_float32.tflite"
GRAY_INT8 = FIXTURES / "tiny_gray_int8_int8io.tflite"
GRAY_UINT8 = FIXTURES / "tiny_gray_int8_uint8io.tflite"
RGB_FLOAT = FIXTURES / "tiny_rgb_float32.tflite"
ALL_GOOD = [GRAY_FLOAT, GRAY_INT8, GRAY_UINT8, RGB_FLOAT]


def _inputs(spec: PreprocessSpec, n: int = 12) -> np.ndarray:
    """The two committed faces, their mirror images, and some noise images, preprocessed."""
    faces = [Image.open(IMAGES / f"{name}.jpg").convert("RGB") for name in ("happy", "sad")]
    faces += [f.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for f in faces]
    rng = np.random.default_rng(3)
    faces += [
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8))
        for _ in range(n - len(faces))
    ]
    return np.stack([preprocess(f, spec) for f in faces])


@pytest.mark.parametrize("model", ALL_GOOD, ids=lambda p: p.stem)
def test_committed_fixture_models_are_tiny_and_carry_metadata(model: Path) -> None:
    assert model.stat().st_size < 100_000
    meta = read_metadata(model)
    assert meta is not None and meta.labels == ("happy", "sad")


@pytest.mark.parametrize("model", ALL_GOOD, ids=lambda p: p.stem)
def test_fixture_models_classify_the_sample_faces(model: Path) -> None:
    classifier = Classifier.load(model)
    happy, sad = classifier.predict_many([IMAGES / "happy.jpg", IMAGES / "sad.jpg"])
    assert (happy.label, sad.label) == ("happy", "sad")
    assert happy.probability > 0.6 and sad.probability > 0.6


def test_prediction_is_frozen_and_consistent() -> None:
    prediction = Classifier.load(GRAY_INT8).predict(str(IMAGES / "sad.jpg"))
    assert isinstance(prediction, Prediction)
    with pytest.raises(dataclasses.FrozenInstanceError):
        prediction.label = "happy"  # type: ignore[misc]
    assert prediction.path == str(IMAGES / "sad.jpg")
    assert prediction.probability == pytest.approx(1 - prediction.p_happy)
    assert prediction.ms > 0
    assert set(prediction.to_dict()) == {"path", "label", "probability", "p_happy", "ms"}


def test_quantized_models_match_the_float_model() -> None:
    float_model = Classifier.load(GRAY_FLOAT)
    x = _inputs(float_model.spec)
    reference = float_model.probabilities(x)
    assert reference.std() > 0.05  # the fixture's outputs really depend on the image
    for path in (GRAY_INT8, GRAY_UINT8):
        quantized = Classifier.load(path)
        assert quantized.input_quantization.dtype == path.stem.split("_")[-1].removesuffix("io")
        assert quantized.input_quantization.is_quantized
        assert quantized.output_quantization.is_quantized
        p = quantized.probabilities(x)
        assert p.dtype == np.float32 and p.shape == (len(x),)
        assert np.max(np.abs(p - reference)) < 0.05


def test_io_quantization_comes_from_the_interpreter_and_matches_metadata() -> None:
    classifier = Classifier.load(GRAY_INT8)
    embedded = read_metadata(GRAY_INT8)
    assert classifier.input_quantization == embedded.input_quantization
    assert classifier.output_quantization == embedded.output_quantization
    assert classifier.input_quantization.dtype == "int8"


def test_wrong_quantization_in_metadata_warns_and_the_model_wins(tmp_path: Path) -> None:
    meta = read_metadata(GRAY_INT8)
    wrong = meta.with_updates(input_quantization=QuantParams("int8", 0.5, 3))
    path = tmp_path / "wrong.tflite"
    path.write_bytes(embed(GRAY_INT8.read_bytes(), wrong))
    with pytest.warns(ModelWarning, match="input quantization"):
        classifier = Classifier.load(path)
    assert classifier.input_quantization == meta.input_quantization
    x = _inputs(classifier.spec, 4)
    np.testing.assert_array_equal(
        classifier.probabilities(x), Classifier.load(GRAY_INT8).probabilities(x)
    )


def test_all_input_kinds_give_the_same_answer() -> None:
    classifier = Classifier.load(RGB_FLOAT)
    path = IMAGES / "happy.jpg"
    with Image.open(path) as im:
        image = im.convert("RGB")
    pixels = np.asarray(image)
    resized = np.asarray(image.resize((32, 32), Image.Resampling.BILINEAR))
    sources = [
        path,
        str(path),
        path.read_bytes(),
        image,
        pixels,
        resized,
        preprocess(path, classifier.spec),
    ]
    probs = [classifier.predict(s).p_happy for s in sources]
    assert max(probs) - min(probs) < 1e-6
    assert classifier.predict(path).path == str(path)
    assert classifier.predict(image).path is None


def test_probabilities_accepts_one_sample_and_rejects_wrong_shapes() -> None:
    classifier = Classifier.load(GRAY_INT8)
    x = _inputs(classifier.spec, 5)
    batch = classifier.probabilities(x)
    assert classifier.probabilities(x[2]).tolist() == [batch[2]]
    with pytest.raises(ValueError, match="expected input"):
        classifier.probabilities(np.zeros((2, 32, 32, 3), np.float32))


def test_bad_array_input_is_an_image_error() -> None:
    classifier = Classifier.load(GRAY_INT8)
    with pytest.raises(ImageError, match="array"):
        classifier.predict(np.zeros((5, 5, 5, 5), dtype=np.float32))


def test_bare_model_without_metadata_runs_with_one_warning(tmp_path: Path) -> None:
    bare = tmp_path / "bare.tflite"
    bare.write_bytes(strip(GRAY_INT8.read_bytes()))
    assert read_metadata(bare) is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        classifier = Classifier.load(bare)
    assert [type(w.message) for w in caught] == [ModelWarning]
    assert "no embedded metadata" in str(caught[0].message)
    assert not classifier.has_metadata
    assert classifier.spec.shape == (48, 48, 1)
    assert (classifier.spec.divisor, classifier.spec.offset) == (255.0, 0.0)
    assert classifier.labels == ("happy", "sad")
    assert classifier.input_quantization.dtype == "int8"
    with_meta = Classifier.load(GRAY_INT8)
    for name in ("happy", "sad"):
        assert classifier.predict(IMAGES / f"{name}.jpg").p_happy == pytest.approx(
            with_meta.predict(IMAGES / f"{name}.jpg").p_happy
        )


def test_metadata_that_disagrees_with_the_input_shape_is_a_model_error(tmp_path: Path) -> None:
    meta = read_metadata(GRAY_INT8).with_updates(preprocess=PreprocessSpec(32, 32, 3))
    path = tmp_path / "mismatch.tflite"
    path.write_bytes(embed(GRAY_INT8.read_bytes(), meta))
    with pytest.raises(ModelError, match=r"model input is 48x48x1 but its metadata says 32x32x3"):
        Classifier.load(path)


def test_model_that_failed_validation_loads_with_a_warning(tmp_path: Path) -> None:
    meta = read_metadata(GRAY_INT8).with_updates(validation_status="failed")
    path = tmp_path / "failed.tflite"
    path.write_bytes(embed(GRAY_INT8.read_bytes(), meta))
    with pytest.warns(ModelWarning, match="FAILED validation"):
        Classifier.load(path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad_input_2ch.tflite", r"unexpected input shape 1x24x24x2; expected 1xHxWxC"),
        ("bad_output_2units.tflite", r"unexpected output shape 1x2; expected one sigmoid value"),
    ],
)
def test_model_with_unexpected_shape_is_refused(name: str, expected: str) -> None:
    with pytest.raises(ModelError, match=expected) as info:
        Classifier.load(FIXTURES / name)
    assert "\n" not in str(info.value)


def test_files_that_are_not_models_are_model_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.tflite"
    text.write_text("not a model at all\n" * 10)
    with pytest.raises(ModelError, match="not a TFLite model"):
        Classifier.load(text)
    damaged = tmp_path / "damaged.tflite"
    data = strip(GRAY_FLOAT.read_bytes())
    damaged.write_bytes(data[:8] + bytes(len(data) - 8))  # right identifier, garbage body
    with pytest.raises(ModelError, match="cannot load this model") as info:
        Classifier.load(damaged)
    assert "\n" not in str(info.value)
    (tmp_path / "empty.tflite").write_bytes(b"")
    with pytest.raises(ModelError, match="not a TFLite model"):
        Classifier.load(tmp_path / "empty.tflite")
    with pytest.raises(ModelError, match="no such model file"):
        Classifier.load(tmp_path / "missing.tflite")
    with pytest.raises(ModelError, match="is a directory"):
        Classifier.load(tmp_path)


def test_invalid_thread_count_is_refused() -> None:
    with pytest.raises(ModelError, match="threads"):
        Classifier.load(GRAY_INT8, threads=0)


def test_threads_and_disabling_xnnpack_do_not_change_results() -> None:
    x = _inputs(PreprocessSpec(48, 48, 1), 6)
    for model in (GRAY_FLOAT, GRAY_INT8):
        default = Classifier.load(model).probabilities(x)
        plain = Classifier.load(model, threads=1, use_xnnpack=False)
        assert (plain.threads, plain.use_xnnpack) == (1, False)
        np.testing.assert_allclose(plain.probabilities(x), default, atol=0.02)


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_repeated_predictions_do_not_grow_memory() -> None:
    classifier = Classifier.load(GRAY_INT8)
    path = IMAGES / "happy.jpg"
    first = classifier.predict(path)
    for _ in range(50):  # warm up allocator pools and caches
        classifier.predict(path)
    before = _rss_kib()
    for _ in range(300):
        prediction = classifier.predict(path)
    growth = _rss_kib() - before
    assert prediction.p_happy == first.p_happy
    assert growth < 2048, f"RSS grew by {growth} KiB over 300 predictions"


@pytest.mark.parametrize(
    ("name", "path"),
    [("tiny_gray_int8_int8io.tflite", "xor"), ("tiny_gray_int8_uint8io.tflite", "identity")],
)
def test_integer_fast_path_gives_exactly_the_quantized_tensor_for_all_256_levels(
    name: str, path: str
) -> None:
    from edge_emotion_runtime.preprocess import scale
    from edge_emotion_runtime.quantization import quantize

    clf = Classifier.load(FIXTURES / name)
    assert clf.pixel_path == path
    h, w, c = clf.spec.shape
    levels = np.arange(256, dtype=np.uint8)
    pixels = np.resize(levels, (h, w, c))  # every level appears
    assert set(np.unique(pixels)) == set(levels)
    fast = clf.input_tensor(pixels)
    general = quantize(scale(pixels[None], clf.spec), clf.input_quantization)
    assert fast.dtype == general.dtype and fast.shape == general.shape
    np.testing.assert_array_equal(fast, general)
    # and the fast predict path feeds that tensor: same answer as the float path
    assert clf.predict(pixels).p_happy == pytest.approx(
        1 - float(clf.probabilities(scale(pixels, clf.spec))[0]), abs=1e-6
    )


def test_the_fast_prediction_builder_makes_an_ordinary_frozen_prediction() -> None:
    from edge_emotion_runtime.classifier import _prediction

    made = _prediction("a.jpg", "sad", 0.75, 0.25, 0.04)
    assert made == Prediction("a.jpg", "sad", 0.75, 0.25, 0.04)
    assert repr(made) == repr(Prediction("a.jpg", "sad", 0.75, 0.25, 0.04))
    assert made.to_dict() == {
        "path": "a.jpg",
        "label": "sad",
        "probability": 0.75,
        "p_happy": 0.25,
        "ms": 0.04,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.label = "happy"  # type: ignore[misc]


@pytest.mark.parametrize("in_place", [False, True], ids=["set_tensor", "in_place"])
@pytest.mark.parametrize("model", ALL_GOOD, ids=lambda p: p.stem)
def test_pixel_fast_path_answers_exactly_as_the_general_path(
    model: Path, in_place: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fixtures are small, so the in-place write (meant for large inputs) is forced here.
    from edge_emotion_runtime import fastpath

    monkeypatch.setattr(fastpath, "IN_PLACE_BYTES", 0 if in_place else 1 << 40)
    clf = Classifier.load(model)
    assert clf._io.in_place is in_place
    rng = np.random.default_rng(5)
    for _ in range(20):
        pixels = rng.integers(0, 256, clf.spec.shape, dtype=np.uint8)
        fast = clf.predict(pixels)  # resized uint8 face: straight into the input tensor
        picture = Image.fromarray(pixels[..., 0] if clf.spec.channels == 1 else pixels)
        general = clf.predict(picture)  # a picture: the general path
        assert (fast.label, fast.probability, fast.p_happy) == (
            general.label,
            general.probability,
            general.p_happy,
        )


def test_float_models_take_the_general_path() -> None:
    assert Classifier.load(FIXTURES / "tiny_gray_float32.tflite").pixel_path == "float"


def test_a_probability_of_exactly_the_threshold_is_the_negative_label() -> None:
    # p = 0.5 is reachable with an int8 output (q = zero point + 128 * scale...): the rule is
    # strictly-above for the positive label, as the seed's `yhat > 0.5 -> Sad` had it.
    clf = Classifier.load(FIXTURES / "tiny_gray_int8_int8io.tflite")
    at = clf._decide(0.5, None, 0.0)
    assert (at.label, at.probability, at.p_happy) == ("happy", 0.5, 0.5)
    above = clf._decide(0.5 + 1e-9, None, 0.0)
    assert above.label == "sad"


def test_threads_reach_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    # The thread count must be passed to the real interpreter, not just stored on the
    # Classifier: record what the interpreter class is constructed with.
    from edge_emotion_runtime import backends

    seen: list[object] = []
    backend = backends.resolve("auto")  # litert here, tflite-runtime in some device runs
    original = backend.interpreter_class

    class Recording(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            seen.append(kwargs.get("num_threads"))
            super().__init__(*args, **kwargs)

    patched = dataclasses.replace(backend, interpreter_class=Recording)
    monkeypatch.setitem(backends._cache, backend.name, patched)
    clf = Classifier.load(
        FIXTURES / "tiny_gray_int8_int8io.tflite", threads=3, backend=backend.name
    )
    assert seen == [3] and clf.threads == 3


def _with_metadata_json(tmp_path: Path, edit) -> Path:
    """The int8 fixture with its embedded JSON edited by hand (as a user might), re-zipped."""
    import io as _io
    import json
    import zipfile

    from edge_emotion_runtime.metadata import METADATA_FILENAME

    source = FIXTURES / "tiny_gray_int8_int8io.tflite"
    flatbuffer = strip(source.read_bytes())
    with zipfile.ZipFile(source) as archive:
        meta = json.loads(archive.read(METADATA_FILENAME))
    meta = edit(meta)
    buffer = _io.BytesIO(flatbuffer)
    buffer.seek(0, 2)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(METADATA_FILENAME, json.dumps(meta))
    out = tmp_path / "edited.tflite"
    out.write_bytes(buffer.getvalue())
    return out


def test_embedded_metadata_is_a_valid_zip_from_the_start_of_the_file(tmp_path: Path) -> None:
    import shutil
    import struct
    import subprocess

    source = FIXTURES / "tiny_gray_int8_int8io.tflite"
    path = tmp_path / "model.tflite"
    path.write_bytes(embed(source.read_bytes(), read_metadata(source)))
    data = path.read_bytes()
    eocd = data.rindex(b"PK\x05\x06")
    size, offset = struct.unpack("<II", data[eocd + 12 : eocd + 20])
    assert offset + size == eocd  # central directory offsets count from the file's start
    if shutil.which("unzip"):
        done = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
        assert done.returncode == 0 and "extra bytes" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: {**m, "schema_version": 99}, "metadata schema 99, this runtime reads up to"),
        (lambda m: {**m, "threshold": "0.5"}, "'threshold' must be a number"),
        (lambda m: {**m, "model_bytes": "abc"}, "'model_bytes' must be a number"),
        (lambda m: [m], "expected a JSON object, got list"),
        (lambda m: {**m, "preprocess": {**m["preprocess"], "divisor": 0}}, "'divisor' must not"),
        (lambda m: {**m, "preprocess": {**m["preprocess"], "gamma": 2.2}}, "unknown preprocessing"),
        (lambda m: {**m, "labels": ["happy"]}, "'labels' must be a list of two names"),
        (lambda m: {**m, "threshold": 7}, "'threshold' must be within [0.0, 1.0]"),
    ],
    ids=[
        "future-schema",
        "threshold-string",
        "model-bytes-string",
        "json-list",
        "divisor-0",
        "unknown-key",
        "one-label",
        "threshold-range",
    ],
)
def test_hand_edited_metadata_is_refused_at_load_with_one_line(
    tmp_path: Path, edit, message: str
) -> None:
    path = _with_metadata_json(tmp_path, edit)
    with pytest.raises(ModelError) as err:
        Classifier.load(path)
    assert message in str(err.value) and "\n" not in str(err.value)
