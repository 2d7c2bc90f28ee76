"""Strict reader and writer for the IDX file format of (Fashion-)MNIST.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per dimension,
then the array itself in C order and big-endian byte order::

    byte 0-1   zero
    byte 2     type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
               0x0D float32, 0x0E float64)
    byte 3     number of dimensions
    ...        size of each dimension (uint32, big-endian)
    ...        data

The reader accepts a path or a bytes-like object, either of which may be
gzip-compressed, and refuses anything that is not exactly one well-formed
array: a wrong magic number, an unknown type code, a truncated header or body,
trailing bytes or a broken gzip stream all raise a :class:`ValueError` that
names the file.
"""

# SPDX-License-Identifier: BSD-3-Clause

import gzip
import os
import zlib

import numpy as np

# IDX type code -> big-endian numpy dtype
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _describe_codes():
    return ", ".join(
        f"0x{code:02X} ({dtype.name})" for code, dtype in _IDX_DTYPES.items()
    )


def _gunzip(data, name):
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(
            f"{name}: not a valid gzip stream ({type(exc).__name__}: {exc})"
        ) from exc


def read_idx(source, *, name=None, ndim=None):
    """Read one array from an IDX file, checking its structure strictly.

    Parameters
    ----------
    source : str, path-like or bytes-like
        Path of an IDX file, or its content. Gzip-compressed input (path or
        bytes) is recognised by its magic number and decompressed.

    name : str, default=None
        Name of the file to use in error messages. By default the path, or
        ``"<bytes>"`` for in-memory input.

    ndim : int, default=None
        Required number of dimensions. ``None`` accepts any number (at least
        one).

    Returns
    -------
    array : ndarray
        A writable array in native byte order with the dtype and shape
        declared in the header.

    Raises
    ------
    ValueError
        If the input is not a complete, well-formed IDX array: bad magic
        number, unknown type code, unexpected number of dimensions, truncated
        header or data, trailing bytes, or a corrupt gzip stream. The message
        names the file.

    See Also
    --------
    write_idx : Write an array as an IDX file.

    Examples
    --------
    >>> import numpy as np
    >>> from fmnist_estimators.datasets._idx import read_idx, write_idx
    >>> content = write_idx(None, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> content[:4]
    b'\\x00\\x00\\x08\\x02'
    >>> read_idx(content)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    >>> read_idx(content[:-1], name="toy.idx")
    Traceback (most recent call last):
        ...
    ValueError: toy.idx: truncated IDX data: expected 18 bytes, got 17
    """
    if isinstance(source, (str, os.PathLike)):
        if name is None:
            name = os.fspath(source)
        with open(source, "rb") as f:
            data = f.read()
    else:
        if name is None:
            name = "<bytes>"
        data = bytes(source)
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, name)

    if len(data) < 4:
        raise ValueError(
            f"{name}: truncated IDX header: expected at least 4 bytes, got {len(data)}"
        )
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{name}: not an IDX file: the magic number must start with two "
            f"zero bytes, got {data[:4].hex()}"
        )
    code, n_dims = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise ValueError(
            f"{name}: unknown IDX type code 0x{code:02X}; expected one of "
            f"{_describe_codes()}"
        )
    if n_dims == 0:
        raise ValueError(f"{name}: IDX header declares 0 dimensions")
    if ndim is not None and n_dims != ndim:
        raise ValueError(
            f"{name}: expected an IDX array with {ndim} dimension(s), got {n_dims}"
        )
    header_size = 4 + 4 * n_dims
    if len(data) < header_size:
        raise ValueError(
            f"{name}: truncated IDX header: {n_dims} dimensions need "
            f"{header_size} bytes, got {len(data)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", n_dims, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = header_size + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) < expected:
        raise ValueError(
            f"{name}: truncated IDX data: expected {expected} bytes, got {len(data)}"
        )
    if len(data) > expected:
        raise ValueError(
            f"{name}: {len(data) - expected} unexpected trailing byte(s) after "
            f"the IDX array of shape {shape} ({expected} bytes)"
        )
    array = np.frombuffer(data, dtype, offset=header_size).reshape(shape)
    # Copy into a writable array in native byte order.
    return array.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path, array):
    """Encode an array in the IDX format, optionally writing it to a file.

    Parameters
    ----------
    path : str, path-like or None
        Destination file. A name ending in ``.gz`` is gzip-compressed (with a
        zero timestamp, so the output is reproducible). ``None`` writes
        nothing and only returns the encoded bytes.

    array : array-like
        Array with at least one dimension and a dtype among uint8, int8,
        int16, int32, float32 and float64.

    Returns
    -------
    content : bytes
        The uncompressed IDX encoding of ``array``.

    See Also
    --------
    read_idx : Read an IDX file.

    Examples
    --------
    >>> import numpy as np
    >>> from fmnist_estimators.datasets._idx import write_idx
    >>> write_idx(None, np.array([7, 2, 1], dtype=np.uint8))
    b'\\x00\\x00\\x08\\x01\\x00\\x00\\x00\\x03\\x07\\x02\\x01'
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _IDX_CODES:
        raise ValueError(
            f"cannot write dtype {array.dtype} as IDX; expected one of "
            f"{_describe_codes()}"
        )
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX arrays have 1 to 255 dimensions, got {array.ndim}")
    code = _IDX_CODES[native]
    header = bytes([0, 0, code, array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    content = header + np.ascontiguousarray(array, _IDX_DTYPES[code]).tobytes()
    if path is not None:
        if os.fspath(path).endswith(".gz"):
            with open(path, "wb") as f:
                f.write(gzip.compress(content, mtime=0))
        else:
            with open(path, "wb") as f:
                f.write(content)
    return content
