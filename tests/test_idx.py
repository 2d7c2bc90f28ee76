"""Tests of the strict IDX reader and writer."""

import gzip

import numpy as np
import pytest

from fmnist_estimators.datasets._idx import read_idx, write_idx


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype=np.uint8).reshape(2, 2, 3),
        np.array([0, 9, 255], dtype=np.uint8),
        np.array([-128, 0, 127], dtype=np.int8),
        np.arange(-6, 6, dtype=np.int16).reshape(3, 4),
        np.arange(5, dtype=">i4"),
        np.linspace(0, 1, 6, dtype=np.float32).reshape(6, 1),
        np.array([np.pi, -np.e]),
        np.zeros((0, 28, 28), dtype=np.uint8),
    ],
)
@pytest.mark.parametrize("suffix", ["idx", "idx.gz"])
def test_round_trip(tmp_path, array, suffix):
    path = tmp_path / f"array.{suffix}"
    write_idx(path, array)
    result = read_idx(path)
    assert result.dtype == array.dtype.newbyteorder("=")
    assert result.dtype.isnative
    assert result.flags.writeable
    np.testing.assert_array_equal(result, array)
    # The same content read from bytes, compressed or not.
    content = path.read_bytes()
    np.testing.assert_array_equal(read_idx(content), array)


def test_header_layout():
    content = write_idx(None, np.zeros((3, 2), dtype=np.int16))
    assert content[:4] == b"\x00\x00\x0b\x02"
    assert content[4:12] == b"\x00\x00\x00\x03\x00\x00\x00\x02"
    assert len(content) == 12 + 3 * 2 * 2


def test_gzip_is_reproducible(tmp_path):
    array = np.arange(100, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_ndim_check():
    content = write_idx(None, np.zeros((2, 3), dtype=np.uint8))
    assert read_idx(content, ndim=2).shape == (2, 3)
    with pytest.raises(ValueError, match=r"labels\.idx: expected .* 1 dimension"):
        read_idx(content, name="labels.idx", ndim=1)


def test_write_rejects_unsupported_dtype():
    with pytest.raises(ValueError, match="cannot write dtype int64"):
        write_idx(None, np.arange(3, dtype=np.int64))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(None, np.uint8(3))


GOOD = write_idx(None, np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "truncated IDX header"),
        (b"\x00\x00\x08", "truncated IDX header"),
        (b"\x01" + GOOD[1:], "magic number must start with two zero bytes"),
        (b"\x00\x01" + GOOD[2:], "magic number must start with two zero bytes"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "unknown IDX type code 0x07"),
        (GOOD[:3] + b"\x00" + GOOD[4:], "declares 0 dimensions"),
        (GOOD[:10], "3 dimensions need 16 bytes, got 10"),
        (GOOD[:3] + b"\x09", "9 dimensions need 40 bytes, got 4"),
        (GOOD[:-1], "truncated IDX data: expected 40 bytes, got 39"),
        (GOOD[:16], "truncated IDX data"),
        (GOOD + b"\x00", "1 unexpected trailing byte"),
        # ndim byte says 4: the data is read as a 4th dimension
        (GOOD[:3] + b"\x04" + GOOD[4:], "truncated IDX data"),
        (gzip.compress(GOOD, mtime=0)[:-5], "not a valid gzip stream"),
        (gzip.compress(GOOD, mtime=0)[:20], "not a valid gzip stream"),
        (b"\x1f\x8b" + b"garbage" * 5, "not a valid gzip stream"),
    ],
)
def test_malformed_input_names_the_file(tmp_path, content, message):
    path = tmp_path / "broken-idx3-ubyte.gz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as excinfo:
        read_idx(path)
    assert str(path) in str(excinfo.value)
    with pytest.raises(ValueError, match="^my-file: "):
        read_idx(content, name="my-file")


def test_corrupt_gzip_body(tmp_path):
    compressed = bytearray(gzip.compress(GOOD, mtime=0))
    compressed[len(compressed) // 2] ^= 0xFF  # flip bits inside the stream
    with pytest.raises(ValueError, match="bad.gz: not a valid gzip stream"):
        read_idx(bytes(compressed), name="bad.gz")
