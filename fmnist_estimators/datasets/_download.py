"""Find, verify and download the four IDX files of a dataset.

Each file is looked up, in order, in the data folder, in the system folders
(a copy installed by a distribution package, never modified), and finally
downloaded from a list of mirrors into the data folder. Every file is checked
by the size and SHA-256 of its *uncompressed* bytes, so any gzip of the
canonical data is accepted.
"""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import gzip
import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections import namedtuple

from .._warn import warn_user

RemoteFileMetadata = namedtuple(
    "RemoteFileMetadata", ["filename", "mirrors", "sha256", "n_bytes"]
)
RemoteFileMetadata.__doc__ = """\
A gzip-compressed data file, its mirrors and the checksum of its content.

filename : str
    Canonical file name, also used in the data folder.
mirrors : tuple of str
    Base URLs tried in order; the file's URL is ``mirror + filename``.
sha256 : str
    SHA-256 of the uncompressed bytes.
n_bytes : int
    Size of the uncompressed bytes.
"""

_TIMEOUT = 60  # seconds without data before a download attempt is abandoned
_CHUNK_SIZE = 1 << 20

# Files whose content already matched its checksum in this process, keyed by
# (real path, mtime, size, expected sha256): re-reading them skips the hash.
_VERIFIED = set()


class _CorruptFileError(ValueError):
    """The file is not a gzip of the expected content."""


class _IncompleteDownloadError(OSError):
    """The server closed the connection before sending the whole file."""


def _url(mirror, filename):
    return mirror.rstrip("/") + "/" + filename


def _gunzip_file(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise _CorruptFileError(f"not a valid gzip file ({exc})") from exc


def _check_content(raw, remote):
    if len(raw) != remote.n_bytes:
        raise _CorruptFileError(
            f"{len(raw)} bytes once decompressed, expected {remote.n_bytes}"
        )
    digest = hashlib.sha256(raw).hexdigest()
    if digest != remote.sha256:
        raise _CorruptFileError(
            f"SHA-256 of the decompressed content is {digest}, expected {remote.sha256}"
        )


def _verification_key(path, remote):
    stat = os.stat(path)
    return (os.path.realpath(path), stat.st_mtime_ns, stat.st_size, remote.sha256)


def _read_verified(path, remote):
    """Return the decompressed bytes of ``path`` after checking them."""
    key = _verification_key(path, remote)
    raw = _gunzip_file(path)
    if key not in _VERIFIED:
        _check_content(raw, remote)
        _VERIFIED.add(key)
    return raw


def _download_once(url, destination):
    """Write the resource at ``url`` to ``destination``; raise on failure."""
    with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
        expected = response.headers.get("Content-Length")
        received = 0
        with open(destination, "wb") as f:
            while chunk := response.read(_CHUNK_SIZE):
                f.write(chunk)
                received += len(chunk)
    if expected is not None and expected.isdigit() and received != int(expected):
        raise _IncompleteDownloadError(
            f"connection closed after {received} of {expected} bytes"
        )


def _download_with_retries(url, destination, n_retries, delay):
    """Download ``url``; return None on success, else the reason of failure.

    Network errors, server errors (5xx) and incomplete transfers are retried
    ``n_retries`` times, ``delay`` seconds apart; client errors such as 404
    are not.
    """
    attempt = 0
    while True:
        try:
            _download_once(url, destination)
            return None
        except urllib.error.HTTPError as exc:
            reason = f"HTTP error {exc.code} ({exc.reason})"
            if exc.code < 500:
                return reason
        except urllib.error.URLError as exc:
            reason = str(exc.reason)
        except _IncompleteDownloadError as exc:
            reason = str(exc)
        except (OSError, http.client.HTTPException) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        if attempt >= n_retries:
            return reason
        attempt += 1
        warn_user(
            f"Downloading {url} failed: {reason}; retrying in {delay:g} s "
            f"(retry {attempt} of {n_retries})."
        )
        time.sleep(delay)


def _download(remote, path, *, n_retries, delay, dataset, hint):
    """Download ``remote`` to ``path``, trying each mirror in turn.

    The file is written to a temporary file in the same folder, which is
    renamed to ``path`` only once its content matches the checksum, and
    removed in every other case (errors and interruptions included).
    """
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, temp_path = tempfile.mkstemp(
            prefix=f".{remote.filename}.", suffix=".part", dir=folder
        )
    except OSError as exc:
        raise OSError(
            f"Cannot download {dataset} file {remote.filename!r}: the data folder "
            f"{folder!r} is not writable ({exc}). Pass a writable data_home, or "
            f"set the FMNIST_ESTIMATORS_DATA environment variable to one."
        ) from exc
    os.close(fd)
    failures = []
    try:
        for mirror in remote.mirrors:
            url = _url(mirror, remote.filename)
            reason = _download_with_retries(url, temp_path, n_retries, delay)
            if reason is None:
                try:
                    raw = _gunzip_file(temp_path)
                    _check_content(raw, remote)
                except _CorruptFileError as exc:
                    reason = f"corrupt download: {exc}"
            if reason is not None:
                failures.append(f"  {url}: {reason}")
                continue
            os.replace(temp_path, path)
            _VERIFIED.add(_verification_key(path, remote))
            return raw
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp_path)
    tried = "\n".join(failures) if failures else "  (no mirror configured)"
    raise OSError(
        f"Could not download {dataset} file {remote.filename!r}. Tried:\n{tried}\n"
        f"Download it by hand from one of these URLs and save it as {path!r}"
        f"{hint}."
    )


def fetch_file(
    remote,
    *,
    folder,
    system_dirs=(),
    download_if_missing=True,
    n_retries=3,
    delay=1.0,
    dataset="dataset",
    hint="",
):
    """Return ``(path, uncompressed bytes)`` of a verified copy of ``remote``.

    Looks in ``folder``, then in each of ``system_dirs``, then downloads into
    ``folder``. A corrupt file in ``folder`` is replaced by a download (with a
    warning); a corrupt system copy is skipped with a warning, never touched.

    Raises
    ------
    FileNotFoundError
        If no copy exists and ``download_if_missing`` is False.
    OSError
        If the only copy in ``folder`` is corrupt and ``download_if_missing``
        is False, if ``folder`` is not writable, or if every mirror failed.
    """
    path = os.path.join(folder, remote.filename)
    corrupt = None
    if os.path.exists(path):
        try:
            return path, _read_verified(path, remote)
        except _CorruptFileError as exc:
            corrupt = str(exc)

    for system_dir in system_dirs:
        system_path = os.path.join(system_dir, remote.filename)
        if not os.path.isfile(system_path):
            continue
        try:
            raw = _read_verified(system_path, remote)
        except (_CorruptFileError, OSError) as exc:
            warn_user(
                f"Skipping the system copy {system_path!r} of {dataset}, which is "
                f"unusable ({exc}); it is left untouched."
            )
            continue
        if corrupt is not None:
            warn_user(
                f"Ignoring the corrupt file {path!r} ({corrupt}) and using "
                f"{system_path!r} instead; delete the corrupt file."
            )
        return system_path, raw

    if corrupt is not None:
        if not download_if_missing:
            raise OSError(
                f"The {dataset} file {path!r} is corrupt ({corrupt}). Delete it "
                f"and call again with download_if_missing=True to download it "
                f"again, or replace it by a good copy{hint}."
            )
        warn_user(
            f"The {dataset} file {path!r} is corrupt ({corrupt}); downloading it again."
        )
    elif not download_if_missing:
        searched = "".join(
            f" or {os.path.join(d, remote.filename)!r}" for d in system_dirs
        )
        raise FileNotFoundError(
            f"{dataset} file {remote.filename!r} not found at {path!r}{searched}, "
            f"and download_if_missing=False. Call again with "
            f"download_if_missing=True to download it, or place it there by "
            f"hand{hint}."
        )
    raw = _download(
        remote, path, n_retries=n_retries, delay=delay, dataset=dataset, hint=hint
    )
    return path, raw
