"""The metadata reader's defaults and limits, value by value (pinned after mutation testing
showed them unpinned): preprocessing, quantization, the inflate cap and the ZIP split."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from edge_emotion_runtime import metadata as md


def _spec(**overrides: object) -> object:
    return md._preprocess(dict(overrides))


def test_preprocessing_defaults_are_the_seed_recipe() -> None:
    spec = _spec()
    assert (spec.height, spec.width, spec.channels) == (256, 256, 3)
    assert spec.resample == "bilinear" and spec.divisor == 255.0 and spec.offset == 0.0
    assert spec.alpha_background == 255


@pytest.mark.parametrize(
    ("key", "good", "bad"),
    [
        ("height", (1, 8192), (0, 8193)),
        ("width", (1, 8192), (0, 8193)),
        ("channels", (1, 3), (0, 4)),
        ("alpha_background", (0, 255), (-1, 256)),
    ],
)
def test_preprocessing_integers_are_accepted_exactly_within_their_range(
    key: str, good: tuple[int, int], bad: tuple[int, int]
) -> None:
    for value in good:
        assert getattr(_spec(**{key: value}), key) == value
    for value in bad:
        with pytest.raises(ValueError, match=key):
            _spec(**{key: value})


def test_preprocessing_refuses_a_zero_divisor_a_non_string_resample_and_unknown_keys() -> None:
    with pytest.raises(ValueError, match="divisor"):
        _spec(divisor=0)
    assert _spec(divisor=127.5, offset=-1.0).divisor == 127.5
    with pytest.raises(ValueError, match="resample"):
        _spec(resample=3)
    with pytest.raises(ValueError, match="unknown preprocessing"):
        _spec(mean=0.5)


def test_quantization_needs_a_dtype_and_bounded_scale_and_zero_point() -> None:
    q = md._quant("input_quantization", {"dtype": "int8", "scale": 0.5, "zero_point": -128})
    assert (q.dtype, q.scale, q.zero_point) == ("int8", 0.5, -128)
    defaults = md._quant("q", {"dtype": "float32"})
    assert (defaults.scale, defaults.zero_point) == (0.0, 0)
    assert md._quant("q", {"dtype": "int8", "zero_point": 2**31 - 1}).zero_point == 2**31 - 1
    assert md._quant("q", {"dtype": "int8", "zero_point": -(2**31)}).zero_point == -(2**31)
    for bad in ({"dtype": 8}, {"scale": 1.0}, "int8", {"dtype": "int8", "scale": -0.1}):
        with pytest.raises(ValueError):
            md._quant("q", bad)
    for zero_point in (2**31, -(2**31) - 1):
        with pytest.raises(ValueError, match="zero_point"):
            md._quant("q", {"dtype": "int8", "zero_point": zero_point})


def _model(meta: object, member: str = md.METADATA_FILENAME, body: bytes | None = None) -> bytes:
    flat = b"\x00\x00\x00\x00TFL3" + b"\x01" * 24
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # length = text length
        archive.writestr(member, body if body is not None else json.dumps(meta))
    return flat + buffer.getvalue()


def test_split_returns_the_flatbuffer_and_the_metadata_only_when_model_bytes_fits() -> None:
    flat_len = 32
    data = _model({"model_bytes": flat_len, "x": 1})
    flat, meta = md._split(data)
    assert flat == data[:flat_len] and meta == {"model_bytes": flat_len, "x": 1}
    for size in (0, -1, True, 1.5, "32", 10**9):
        data = _model({"model_bytes": size})
        assert md._split(data) == (data, None), size
    for data in (_model([1, 2]), _model({}, member="other.json"), _model(None, body=b"{not json")):
        assert md._split(data) == (data, None)
    assert md._split(b"no zip at all") == (b"no zip at all", None)


def test_split_accepts_model_bytes_up_to_the_whole_file() -> None:
    probe = _model({"model_bytes": 100})
    data = _model({"model_bytes": len(probe)})  # as many digits: the same length
    assert len(data) == len(probe)
    assert md._split(data)[1] == {"model_bytes": len(data)}
    longer = _model({"model_bytes": len(probe) + 1})
    assert md._split(longer) == (longer, None)


def test_metadata_inflating_to_exactly_the_cap_is_read_and_one_byte_more_is_refused() -> None:
    def archive(size: int) -> zipfile.ZipFile:
        text = json.dumps({"pad": ""})
        body = (text[:-2] + "x" * (size - len(text)) + '"}').encode()
        assert len(body) == size
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(md.METADATA_FILENAME, body)
        return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))

    assert len(md._read_json(archive(md.MAX_METADATA_BYTES))["pad"]) > 0
    with pytest.raises(md.MetadataTooLarge):
        md._read_json(archive(md.MAX_METADATA_BYTES + 1))
