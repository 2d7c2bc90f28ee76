"""Offline tests of the file lookup, verification and download machinery.

A local HTTP server on 127.0.0.1 serves small IDX files written by the tests;
the module constants holding the mirrors, checksums and system folders are
monkeypatched to point at it. Nothing here touches the internet.
"""

import errno
import gzip
import hashlib
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from fmnist_estimators.datasets import (
    _download,
    _fetchers,
    fashion_mnist_available,
    fetch_fashion_mnist,
    fetch_mnist,
    get_data_home,
)
from fmnist_estimators.datasets._download import RemoteFileMetadata
from fmnist_estimators.datasets._idx import write_idx

N_TRAIN, N_TEST = 20, 10
FILENAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def _make_arrays(seed=0):
    rng = np.random.RandomState(seed)
    return {
        "train_images": rng.randint(0, 256, (N_TRAIN, 28, 28)).astype(np.uint8),
        "train_labels": (np.arange(N_TRAIN) % 10).astype(np.uint8),
        "test_images": rng.randint(0, 256, (N_TEST, 28, 28)).astype(np.uint8),
        "test_labels": (np.arange(N_TEST)[::-1] % 10).astype(np.uint8),
    }


ARRAYS = _make_arrays()
CONTENT = {key: write_idx(None, array) for key, array in ARRAYS.items()}
GZIPPED = {key: gzip.compress(content, mtime=0) for key, content in CONTENT.items()}


def _files(mirrors, content=CONTENT):
    return {
        key: RemoteFileMetadata(
            filename=FILENAMES[key],
            mirrors=tuple(mirrors),
            sha256=hashlib.sha256(raw).hexdigest(),
            n_bytes=len(raw),
        )
        for key, raw in content.items()
    }


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        kind, body = self.server.routes.get(self.path, ("missing", b""))
        if kind == "missing":
            self.send_error(404)
            return
        if kind == "error":
            self.send_error(503)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if kind == "ok":
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif kind == "drop":
            # Promise more than is sent, then close the connection.
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True

    def log_message(self, format, *args):
        pass


class _Server:
    def __init__(self, httpd):
        self.httpd = httpd
        self.routes = httpd.routes
        self.requests = httpd.requests
        host, port = httpd.server_address[:2]
        self.url = f"http://{host}:{port}"

    def mirror(self, name):
        return f"{self.url}/{name}/"

    def serve(self, name, kind="ok", bodies=GZIPPED):
        for key, body in bodies.items():
            self.routes[f"/{name}/{FILENAMES[key]}"] = (kind, body)


@pytest.fixture
def server(monkeypatch):
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "*")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes, httpd.requests = {}, []
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield _Server(httpd)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def isolate(monkeypatch, tmp_path):
    """No system copy, no environment data folder, a fake home folder."""
    monkeypatch.setattr(_fetchers, "FASHION_MNIST_SYSTEM_DIRS", ())
    monkeypatch.setattr(_fetchers, "MNIST_SYSTEM_DIRS", ())
    monkeypatch.delenv("FMNIST_ESTIMATORS_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def data_home(tmp_path):
    return tmp_path / "data"


def _use_mirrors(monkeypatch, *mirrors, content=CONTENT, dataset="FASHION_MNIST"):
    monkeypatch.setattr(_fetchers, f"{dataset}_FILES", _files(mirrors, content))


def _check_bunch(bunch, subset="train"):
    parts = ["train", "test"] if subset == "all" else [subset]
    images = np.concatenate([ARRAYS[f"{part}_images"] for part in parts])
    labels = np.concatenate([ARRAYS[f"{part}_labels"] for part in parts])
    np.testing.assert_array_equal(bunch.images, images)
    np.testing.assert_array_equal(bunch.data, images.reshape(len(images), 784))
    np.testing.assert_array_equal(bunch.target, labels)
    assert bunch.data.dtype == np.uint8
    assert bunch.target.dtype == np.int64


def _listing(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_download_verifies_and_caches(server, monkeypatch, data_home):
    server.serve("a")
    _use_mirrors(monkeypatch, server.mirror("a"))

    bunch = fetch_fashion_mnist(subset="all", data_home=data_home)
    _check_bunch(bunch, "all")
    assert _listing(data_home / "fashion-mnist") == sorted(FILENAMES.values())
    for key, filename in FILENAMES.items():
        cached = (data_home / "fashion-mnist" / filename).read_bytes()
        assert gzip.decompress(cached) == CONTENT[key]
    assert len(server.requests) == 4

    # Cached: no more requests, and works without downloading.
    X, y = fetch_fashion_mnist(
        subset="test", data_home=data_home, download_if_missing=False, return_X_y=True
    )
    np.testing.assert_array_equal(y, ARRAYS["test_labels"])
    assert X.shape == (N_TEST, 784)
    assert len(server.requests) == 4


def test_subset_train_only_downloads_train_files(server, monkeypatch, data_home):
    server.serve("a")
    _use_mirrors(monkeypatch, server.mirror("a"))
    _check_bunch(fetch_fashion_mnist(data_home=data_home), "train")
    assert sorted(server.requests) == [
        "/a/train-images-idx3-ubyte.gz",
        "/a/train-labels-idx1-ubyte.gz",
    ]


def test_first_mirror_missing_second_good(server, monkeypatch, data_home):
    server.serve("good")
    _use_mirrors(monkeypatch, server.mirror("missing"), server.mirror("good"))
    _check_bunch(fetch_fashion_mnist(data_home=data_home, n_retries=2, delay=0))
    # A 404 is not retried: one request per file and mirror.
    assert server.requests == [
        "/missing/train-images-idx3-ubyte.gz",
        "/good/train-images-idx3-ubyte.gz",
        "/missing/train-labels-idx1-ubyte.gz",
        "/good/train-labels-idx1-ubyte.gz",
    ]


def test_server_error_is_retried_then_next_mirror(server, monkeypatch, data_home):
    server.serve("busy", kind="error")
    server.serve("good")
    _use_mirrors(monkeypatch, server.mirror("busy"), server.mirror("good"))
    with pytest.warns(UserWarning, match="HTTP error 503") as record:
        fetch_fashion_mnist(subset="test", data_home=data_home, n_retries=2, delay=0)
    assert [str(w.message).rsplit("(", 1)[1] for w in record] == [
        "retry 1 of 2).",
        "retry 2 of 2).",
    ] * 2
    # At the user's call of the fetcher, not inside the package.
    assert {w.filename for w in record} == {__file__}
    assert server.requests.count("/busy/t10k-images-idx3-ubyte.gz") == 3


def _assert_failed_download(data_home, excinfo, server, mirrors):
    message = str(excinfo.value)
    assert "Could not download Fashion-MNIST file 'train-images-idx3-ubyte.gz'" in (
        message
    )
    for mirror in mirrors:
        assert f"{server.mirror(mirror)}train-images-idx3-ubyte.gz" in message
    expected = data_home / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    assert f"save it as {str(expected)!r}" in message
    assert "dataset-fashion-mnist" in message
    # Nothing left behind, temporary files included.
    assert _listing(data_home / "fashion-mnist") == []


def test_truncated_download_leaves_nothing(server, monkeypatch, data_home):
    truncated = {key: body[: len(body) // 2] for key, body in GZIPPED.items()}
    server.serve("a", bodies=truncated)
    _use_mirrors(monkeypatch, server.mirror("a"))
    with pytest.raises(OSError, match="corrupt download: not a valid gzip") as exc:
        fetch_fashion_mnist(data_home=data_home, n_retries=0)
    _assert_failed_download(data_home, exc, server, ["a"])


def test_corrupt_content_leaves_nothing(server, monkeypatch, data_home):
    other = {key: gzip.compress(raw) for key, raw in _make_arrays_content(1).items()}
    server.serve("a", bodies=other)
    server.serve(
        "b", bodies={k: gzip.compress(v + b"\x00") for k, v in CONTENT.items()}
    )
    _use_mirrors(monkeypatch, server.mirror("a"), server.mirror("b"))
    with pytest.raises(OSError, match="SHA-256 of the decompressed content") as exc:
        fetch_fashion_mnist(data_home=data_home, n_retries=0)
    assert "bytes once decompressed, expected" in str(exc.value)
    _assert_failed_download(data_home, exc, server, ["a", "b"])


def _make_arrays_content(seed):
    return {key: write_idx(None, array) for key, array in _make_arrays(seed).items()}


def test_dropped_connection_leaves_nothing(server, monkeypatch, data_home):
    server.serve("a", kind="drop")
    _use_mirrors(monkeypatch, server.mirror("a"))
    with pytest.warns(UserWarning, match="connection closed after .*retry 1 of 1"):
        with pytest.raises(OSError, match="connection closed after") as exc:
            fetch_fashion_mnist(data_home=data_home, n_retries=1, delay=0)
    assert server.requests.count("/a/train-images-idx3-ubyte.gz") == 2
    _assert_failed_download(data_home, exc, server, ["a"])


def test_unreachable_mirror(monkeypatch, data_home):
    # A port nobody listens on: connection refused.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("no_proxy", "*")
    _use_mirrors(monkeypatch, f"http://127.0.0.1:{port}/")
    with pytest.raises(OSError, match="Could not download") as exc:
        fetch_fashion_mnist(data_home=data_home, n_retries=0)
    assert f"http://127.0.0.1:{port}/train-images-idx3-ubyte.gz" in str(exc.value)
    assert _listing(data_home / "fashion-mnist") == []


def test_interrupted_download_leaves_nothing(server, monkeypatch, data_home):
    server.serve("a")
    _use_mirrors(monkeypatch, server.mirror("a"))

    def interrupted(url, destination):
        with open(destination, "wb") as f:
            f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(_download, "_download_once", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fetch_fashion_mnist(data_home=data_home)
    assert _listing(data_home / "fashion-mnist") == []


def test_disk_full_leaves_nothing_and_says_why(server, monkeypatch, data_home):
    server.serve("a")
    _use_mirrors(monkeypatch, server.mirror("a"))

    def disk_full(url, destination):
        with open(destination, "wb") as f:
            f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_download, "_download_once", disk_full)
    with pytest.raises(OSError, match="No space left on device") as info:
        fetch_fashion_mnist(data_home=data_home, n_retries=0)
    assert "save it as" in str(info.value)
    assert _listing(data_home / "fashion-mnist") == []


def test_corrupt_cached_file_is_downloaded_again(server, monkeypatch, data_home):
    server.serve("a")
    _use_mirrors(monkeypatch, server.mirror("a"))
    folder = data_home / "fashion-mnist"
    folder.mkdir(parents=True)
    (folder / FILENAMES["train_images"]).write_bytes(b"not a gzip file")
    (folder / FILENAMES["train_labels"]).write_bytes(GZIPPED["train_labels"])

    with pytest.warns(UserWarning, match="is corrupt .*downloading it again") as w:
        bunch = fetch_fashion_mnist(data_home=data_home)
    assert [r.filename for r in w] == [__file__]
    _check_bunch(bunch)
    assert server.requests == ["/a/train-images-idx3-ubyte.gz"]
    assert (folder / FILENAMES["train_images"]).read_bytes() == GZIPPED["train_images"]
    assert _listing(folder) == sorted(
        [FILENAMES["train_images"], FILENAMES["train_labels"]]
    )


def test_corrupt_cached_file_without_download(monkeypatch, data_home):
    _use_mirrors(monkeypatch, "http://127.0.0.1:9/")
    folder = data_home / "fashion-mnist"
    folder.mkdir(parents=True)
    # A valid gzip of the wrong content.
    bad = folder / FILENAMES["train_images"]
    bad.write_bytes(gzip.compress(CONTENT["test_images"]))
    with pytest.raises(OSError, match="is corrupt") as exc:
        fetch_fashion_mnist(data_home=data_home, download_if_missing=False)
    message = str(exc.value)
    assert str(bad) in message
    assert "Delete it" in message
    assert "dataset-fashion-mnist" in message
    assert bad.exists()  # the user's file is reported, not deleted


def test_missing_file_without_download(monkeypatch, data_home):
    _use_mirrors(monkeypatch, "http://127.0.0.1:9/")
    with pytest.raises(FileNotFoundError, match="download_if_missing=False") as exc:
        fetch_fashion_mnist(data_home=data_home, download_if_missing=False)
    expected = data_home / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    assert repr(str(expected)) in str(exc.value)
    assert not data_home.exists()  # nothing created


def test_system_copy_is_used(monkeypatch, tmp_path, data_home):
    system = tmp_path / "usr-share"
    system.mkdir()
    for key, body in GZIPPED.items():
        (system / FILENAMES[key]).write_bytes(body)
    _use_mirrors(monkeypatch, "http://127.0.0.1:9/")
    monkeypatch.setattr(_fetchers, "FASHION_MNIST_SYSTEM_DIRS", (str(system),))

    assert fashion_mnist_available(data_home)
    _check_bunch(
        fetch_fashion_mnist(
            subset="all", data_home=data_home, download_if_missing=False
        ),
        "all",
    )
    assert not data_home.exists()  # read in place, nothing copied or created


def test_data_home_has_priority_over_system_copy(monkeypatch, tmp_path, data_home):
    system = tmp_path / "usr-share"
    system.mkdir()
    folder = data_home / "fashion-mnist"
    folder.mkdir(parents=True)
    other = _make_arrays_content(1)
    for key in FILENAMES:
        (system / FILENAMES[key]).write_bytes(gzip.compress(other[key]))
        (folder / FILENAMES[key]).write_bytes(GZIPPED[key])
    _use_mirrors(monkeypatch, "http://127.0.0.1:9/")
    monkeypatch.setattr(_fetchers, "FASHION_MNIST_SYSTEM_DIRS", (str(system),))
    _check_bunch(fetch_fashion_mnist(data_home=data_home, download_if_missing=False))


def test_corrupt_system_copy_is_skipped(server, monkeypatch, tmp_path, data_home):
    system = tmp_path / "usr-share"
    system.mkdir()
    corrupt = system / FILENAMES["train_images"]
    corrupt.write_bytes(gzip.compress(CONTENT["train_images"][:-1], mtime=0))
    (system / FILENAMES["train_labels"]).write_bytes(GZIPPED["train_labels"])
    server.serve("a")
    _use_mirrors(monkeypatch, server.mirror("a"))
    monkeypatch.setattr(_fetchers, "FASHION_MNIST_SYSTEM_DIRS", (str(system),))

    with pytest.warns(UserWarning, match="Skipping the system copy .*untouched") as w:
        bunch = fetch_fashion_mnist(data_home=data_home)
    assert [r.filename for r in w] == [__file__]
    _check_bunch(bunch)
    assert corrupt.read_bytes() == gzip.compress(CONTENT["train_images"][:-1], mtime=0)
    assert server.requests == ["/a/train-images-idx3-ubyte.gz"]
    assert _listing(data_home / "fashion-mnist") == [FILENAMES["train_images"]]


def test_not_writable_data_home(monkeypatch, tmp_path):
    _use_mirrors(monkeypatch, "http://127.0.0.1:9/")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OSError, match="is not writable"):
        fetch_fashion_mnist(data_home=blocker / "data")


def test_permission_denied_in_data_home(monkeypatch, data_home):
    # Runs as root too, where chmod cannot make a folder read-only.
    _use_mirrors(monkeypatch, "http://127.0.0.1:9/")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_download.tempfile, "mkstemp", denied)
    with pytest.raises(OSError, match="is not writable .*Permission denied") as exc:
        fetch_fashion_mnist(data_home=data_home)
    assert str(data_home / "fashion-mnist") in str(exc.value)
    assert "FMNIST_ESTIMATORS_DATA" in str(exc.value)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root can write to read-only folders",
)
def test_read_only_data_home(monkeypatch, tmp_path):
    _use_mirrors(monkeypatch, "http://127.0.0.1:9/")
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        with pytest.raises(OSError, match="is not writable"):
            fetch_fashion_mnist(data_home=read_only)
    finally:
        read_only.chmod(0o755)


def test_verification_is_cached_per_process(server, monkeypatch, data_home):
    server.serve("a")
    _use_mirrors(monkeypatch, server.mirror("a"))
    fetch_fashion_mnist(data_home=data_home)

    calls = []
    check_content = _download._check_content

    def counting_check(raw, remote):
        calls.append(remote.filename)
        check_content(raw, remote)

    monkeypatch.setattr(_download, "_check_content", counting_check)
    fetch_fashion_mnist(data_home=data_home)
    assert calls == []

    # A modified file is verified again.
    path = data_home / "fashion-mnist" / FILENAMES["train_labels"]
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    fetch_fashion_mnist(data_home=data_home)
    assert calls == [FILENAMES["train_labels"]]


def test_label_and_image_counts_must_agree(server, monkeypatch, data_home):
    content = dict(CONTENT)
    content["train_labels"] = write_idx(None, ARRAYS["train_labels"][:-1])
    server.serve("a", bodies={k: gzip.compress(v) for k, v in content.items()})
    _use_mirrors(monkeypatch, server.mirror("a"), content=content)
    with pytest.raises(ValueError, match="holds 19 labels but .* holds 20 images"):
        fetch_fashion_mnist(data_home=data_home)


def test_images_must_be_28_by_28(server, monkeypatch, data_home):
    content = dict(CONTENT)
    content["train_images"] = write_idx(None, np.zeros((N_TRAIN, 28, 27), np.uint8))
    server.serve("a", bodies={k: gzip.compress(v) for k, v in content.items()})
    _use_mirrors(monkeypatch, server.mirror("a"), content=content)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: expected uint8"):
        fetch_fashion_mnist(data_home=data_home)


def test_fetch_mnist_uses_its_own_folder(server, monkeypatch, data_home):
    server.serve("mnist")
    _use_mirrors(monkeypatch, server.mirror("mnist"), dataset="MNIST")
    bunch = fetch_mnist(subset="test", data_home=data_home)
    _check_bunch(bunch, "test")
    assert list(bunch.target_names) == [str(d) for d in range(10)]
    assert "MNIST" in bunch.DESCR
    assert _listing(data_home / "mnist") == sorted(
        [FILENAMES["test_images"], FILENAMES["test_labels"]]
    )
    assert not (data_home / "fashion-mnist").exists()


def test_fashion_mnist_available(monkeypatch, data_home):
    _use_mirrors(monkeypatch, "http://127.0.0.1:9/")
    assert not fashion_mnist_available(data_home)
    assert not data_home.exists()  # no side effect
    folder = data_home / "fashion-mnist"
    folder.mkdir(parents=True)
    for filename in list(FILENAMES.values())[:3]:
        (folder / filename).write_bytes(b"unverified")
    assert not fashion_mnist_available(data_home)
    (folder / FILENAMES["test_labels"]).write_bytes(b"unverified")
    assert fashion_mnist_available(data_home)
    monkeypatch.setenv("FMNIST_ESTIMATORS_DATA", str(data_home))
    assert fashion_mnist_available()


def test_get_data_home_precedence(monkeypatch, tmp_path):
    home = tmp_path / "home"
    default = home / "fmnist_estimators_data"
    assert get_data_home() == str(default)
    assert default.is_dir()

    monkeypatch.setenv("FMNIST_ESTIMATORS_DATA", str(tmp_path / "from-env"))
    assert get_data_home() == str(tmp_path / "from-env")
    assert (tmp_path / "from-env").is_dir()

    assert get_data_home(tmp_path / "from-arg") == str(tmp_path / "from-arg")
    assert (tmp_path / "from-arg").is_dir()

    monkeypatch.setenv("FMNIST_ESTIMATORS_DATA", "~/env-tilde")
    assert get_data_home() == str(home / "env-tilde")
    assert get_data_home("~/arg-tilde") == str(home / "arg-tilde")
    assert (home / "arg-tilde").is_dir()


def test_fetchers_resolve_data_home_like_get_data_home(server, monkeypatch, tmp_path):
    server.serve("a")
    _use_mirrors(monkeypatch, server.mirror("a"))
    fetch_fashion_mnist(subset="test")
    assert _listing(tmp_path / "home" / "fmnist_estimators_data" / "fashion-mnist")

    monkeypatch.setenv("FMNIST_ESTIMATORS_DATA", "~/env-data")
    fetch_fashion_mnist(subset="test")
    assert _listing(tmp_path / "home" / "env-data" / "fashion-mnist")
