"""Image dataset readers: MNIST idx files, CIFAR-10 pickles (and refusing hostile ones), image folders,
the cache, and the digits demo written in MNIST's layout."""

from __future__ import annotations

import gzip
import io
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from wavegen.data import images as images_module
from wavegen.data.cifar10 import TEST_BATCH, TRAIN_BATCHES, read_cifar10
from wavegen.data.digits_demo import write_digits_demo
from wavegen.data.folders import read_image_folder
from wavegen.data.images import ImageManifest, check_image_layout, prepare_images, read_images
from wavegen.data.mnist import IDX_FILES, read_idx, read_mnist, write_idx
from wavegen.errors import DatasetError


def _write_mnist(folder, suffix=".gz", train=5, test=3, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for prefix, count in (("train", train), ("t10k", test)):
        arrays[f"{prefix}-images-idx3-ubyte"] = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        arrays[f"{prefix}-labels-idx1-ubyte"] = rng.integers(0, 10, count, dtype=np.uint8)
    for name, array in arrays.items():
        write_idx(folder / f"{name}{suffix}", array)
    return arrays


# ---------------------------------------------------------------- MNIST

@pytest.mark.parametrize("suffix", [".gz", ""])
def test_idx_files_round_trip_through_the_mnist_reader(tmp_path, suffix):
    arrays = _write_mnist(tmp_path, suffix)
    sets = read_mnist(tmp_path)
    assert sets["train"].images.shape == (5, 28, 28, 1) and sets["train"].images.dtype == np.uint8
    np.testing.assert_array_equal(sets["train"].images[..., 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(sets["test"].labels, arrays["t10k-labels-idx1-ubyte"])
    assert sets["test"].labels.dtype == np.int64 and sets["test"].classes == tuple("0123456789")
    if suffix == ".gz":
        with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz") as stream:
            assert stream.read()[:4] == bytes([0, 0, 8, 1])


def test_torchvision_raw_folder_and_fashion_class_names(tmp_path):
    (tmp_path / "raw").mkdir()
    _write_mnist(tmp_path / "raw", suffix="")
    sets = read_images("fashion-mnist", tmp_path)
    assert len(sets["train"]) == 5 and sets["train"].classes[0] == "T-shirt/top"
    assert sets["train"].classes[-1] == "Ankle boot"


def test_truncated_idx_and_wrong_magic_are_refused_naming_the_file(tmp_path):
    _write_mnist(tmp_path, suffix="")
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-10])
    with pytest.raises(DatasetError, match=rf"^{images}: truncated") as error:
        read_mnist(tmp_path)
    assert "\n" not in str(error.value)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    labels.write_bytes(b"\x01\x02" + labels.read_bytes()[2:])
    with pytest.raises(DatasetError, match=rf"^{labels}: not an idx file"):
        read_idx(labels)
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]))[:-6])
    with pytest.raises(DatasetError, match=rf"^{broken}: "):
        read_idx(broken)


def test_image_and_label_counts_must_agree(tmp_path):
    _write_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(2, dtype=np.uint8))
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte.gz: 2 labels for the 3 images"):
        read_mnist(tmp_path)
    # One of each is counted in the singular ("1 label for the 3 images", not "1 labels").
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(1, dtype=np.uint8))
    with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte.gz: 1 label for the 3 images"):
        read_mnist(tmp_path)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    write_idx(labels, np.zeros((1, 1), dtype=np.uint8))
    with pytest.raises(DatasetError, match=rf"^{labels}: 2 dimensions, expected 1$"):
        read_mnist(tmp_path)
    plain = tmp_path / "short"
    plain.write_bytes(bytes([0, 0, 8, 1, 0]))
    with pytest.raises(DatasetError, match=r"truncated idx header \(5 bytes\)"):
        read_idx(plain)
    plain.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7]))
    with pytest.raises(DatasetError, match=r"truncated: 1 byte of values for shape \(2,\) \(2 expected\)"):
        read_idx(plain)


def test_missing_mnist_names_the_expected_files_and_source(tmp_path):
    with pytest.raises(DatasetError) as error:
        check_image_layout("mnist", tmp_path / "mnist")
    message = str(error.value)
    assert all(name in message for name in IDX_FILES) and "yann.lecun.com/exdb/mnist" in message
    with pytest.raises(DatasetError, match="zalandoresearch/fashion-mnist"):
        read_images("fashion-mnist", tmp_path)


# ---------------------------------------------------------------- CIFAR-10

class _Python2Pickler(pickle._Pickler):
    """Pickles as Python 2 did: str and bytes both as (SHORT_)BINSTRING, which load back as bytes."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        if isinstance(obj, str):
            obj = obj.encode("latin1")
        size = len(obj)
        self.write((pickle.SHORT_BINSTRING + bytes([size]) if size < 256
                    else pickle.BINSTRING + size.to_bytes(4, "little")) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_bytes


def _python2_pickle(value) -> bytes:
    stream = io.BytesIO()
    _Python2Pickler(stream, protocol=2).dump(value)
    # numpy 1 (which wrote the real batches) names numpy.core; numpy 2 writes numpy._core.
    return stream.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def _write_cifar(folder, per_batch=4):
    folder.mkdir(parents=True, exist_ok=True)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    (folder / "batches.meta").write_bytes(_python2_pickle({b"label_names": [n.encode() for n in names]}))
    for i, name in enumerate((*TRAIN_BATCHES, TEST_BATCH)):
        data = np.full((per_batch, 3072), i, dtype=np.uint8)
        data[0, [5, 1024 + 5, 2048 + 5]] = (200, 100, 50)          # image 0, row 0, column 5: R, G, B planes
        batch = {b"batch_label": b"batch", b"data": data, b"labels": [(i + k) % 10 for k in range(per_batch)],
                 b"filenames": [b"x.png"] * per_batch}
        # Python 2 style for the first batch; Python 3 at protocol 2 (bytes via _codecs.encode) for the rest.
        (folder / name).write_bytes(_python2_pickle(batch) if i == 0 else pickle.dumps(batch, protocol=2))
    return names


def test_cifar_batches_in_the_real_format_are_read(tmp_path):
    names = _write_cifar(tmp_path / "cifar-10-batches-py")
    sets = read_cifar10(tmp_path / "cifar-10-batches-py")
    train, test = sets["train"], sets["test"]
    assert train.images.shape == (20, 32, 32, 3) and test.images.shape == (4, 32, 32, 3)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64 and train.classes == tuple(names)
    assert tuple(train.images[0, 0, 5]) == (200, 100, 50) and tuple(test.images[0, 0, 5]) == (200, 100, 50)
    assert tuple(train.images[0, 0, 6]) == (0, 0, 0) and train.images[4, 31, 31, 2] == 1
    np.testing.assert_array_equal(test.labels, [5, 6, 7, 8])


def test_a_cifar_folder_one_level_down_is_suggested(tmp_path):
    _write_cifar(tmp_path / "cifar-10-batches-py")
    with pytest.raises(DatasetError, match="did you mean .*cifar-10-batches-py.*cs.toronto.edu"):
        check_image_layout("cifar10", tmp_path)


class _RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _OpensAFile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


@pytest.mark.parametrize("payload", [_RunsACommand, _OpensAFile])
def test_a_malicious_cifar_pickle_is_refused_and_never_run(tmp_path, payload):
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar(folder)
    marker = tmp_path / "MARKER"
    hostile = {b"data": np.zeros((1, 3072), dtype=np.uint8), b"labels": [0], b"x": payload(marker)}
    (folder / "data_batch_3").write_bytes(pickle.dumps(hostile, protocol=2))
    with pytest.raises(DatasetError, match=rf"^{folder / 'data_batch_3'}: refused to unpickle \S+\.(system|open): "
                                           "CIFAR-10 batches hold only arrays and lists$"):
        read_images("cifar10", folder)
    assert not marker.exists()


def test_a_cifar_batch_of_the_wrong_shape_is_refused(tmp_path):
    folder = tmp_path / "cifar"
    _write_cifar(folder)
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DatasetError, match=r"test_batch: 'data' is uint8 \(2, 100\)"):
        read_cifar10(folder)


# ---------------------------------------------------------------- image folders

def _picture(path, size, colour):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def test_class_subfolders_give_labels_and_square_resized_images(tmp_path):
    for split, count in (("train", 3), ("test", 1)):
        for name, colour in (("cats", (255, 0, 0)), ("dogs", (0, 0, 255))):
            for i in range(count):
                _picture(tmp_path / split / name / f"{i}.png", (40, 30), colour)
    (tmp_path / "train" / "dogs" / "extra.jpg").parent.mkdir(exist_ok=True)
    Image.new("L", (20, 50), 128).save(tmp_path / "train" / "dogs" / "extra.jpg")
    sets = read_image_folder(tmp_path, image_size=16)
    train = sets["train"]
    assert train.classes == ("cats", "dogs") and train.images.shape == (7, 16, 16, 3)
    assert sorted(train.labels.tolist()) == [0, 0, 0, 1, 1, 1, 1] and len(sets["test"]) == 2
    cat = train.images[train.labels == 0][0]
    assert abs(int(cat[8, 8, 0]) - 255) <= 2 and cat[8, 8, 2] <= 2


def test_a_flat_folder_is_unlabelled_and_split_by_path_hash(tmp_path):
    for i in range(40):
        _picture(tmp_path / "img_align_celeba" / f"{i:06d}.jpg", (30, 36), (i * 5, 90, 10))
    sets = read_images("folder", tmp_path, image_size=8)
    assert sets["train"].classes == () and set(sets["train"].labels.tolist()) == {-1}
    assert len(sets["train"]) + len(sets["test"]) == 40 and sets["train"].images.shape[1:] == (8, 8, 3)
    again = read_images("folder", tmp_path, image_size=8)
    np.testing.assert_array_equal(sets["test"].images, again["test"].images)


def test_a_corrupt_image_is_reported_by_its_path(tmp_path):
    _picture(tmp_path / "good.png", (10, 10), (1, 2, 3))
    bad = tmp_path / "bad.png"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes())
    with pytest.raises(DatasetError, match=rf"^{bad}: not a readable image \("):
        read_image_folder(tmp_path, image_size=8)


def test_an_empty_folder_says_what_was_expected(tmp_path):
    with pytest.raises(DatasetError, match="holds no images; expected image files"):
        check_image_layout("folder", tmp_path)


# ---------------------------------------------------------------- the cache

def test_prepare_images_caches_and_does_not_read_again(tmp_path, monkeypatch):
    arrays = _write_mnist(tmp_path / "mnist")
    cache = tmp_path / "cache"
    first = prepare_images("mnist", tmp_path / "mnist", cache)
    assert first.counts == {"train": 5, "test": 3} and first.shape == (28, 28, 1)
    times = {path.name: path.stat().st_mtime_ns for path in cache.iterdir()}

    def must_not_read(*args, **kwargs):
        raise AssertionError("the dataset was read again")
    monkeypatch.setattr(images_module, "read_images", must_not_read)
    second = prepare_images("mnist", tmp_path / "mnist", cache)
    assert {path.name: path.stat().st_mtime_ns for path in cache.iterdir()} == times
    train = ImageManifest.load(cache).split("train")
    assert second.classes == tuple("0123456789") and train.images.dtype == np.uint8
    np.testing.assert_array_equal(train.images[..., 0], arrays["train-images-idx3-ubyte"])
    assert train.labels.dtype == np.int64


def test_prepare_images_rebuilds_for_another_size_and_checks_layout_first(tmp_path):
    _write_mnist(tmp_path / "mnist")
    cache = tmp_path / "cache"
    prepare_images("mnist", tmp_path / "mnist", cache)
    resized = prepare_images("mnist", tmp_path / "mnist", cache, image_size=32)
    assert resized.shape == (32, 32, 1) and ImageManifest.load(cache).split("test").images.shape == (3, 32, 32, 1)
    with pytest.raises(DatasetError, match="CIFAR-10 not found"):
        prepare_images("cifar10", tmp_path / "nothing", tmp_path / "other-cache")
    assert not (tmp_path / "other-cache").exists()


# ---------------------------------------------------------------- the digits demo

@pytest.fixture(scope="module")
def digits_root(tmp_path_factory):
    return write_digits_demo(tmp_path_factory.mktemp("digits"), seed=3)


def test_the_digits_demo_is_read_by_the_mnist_reader(digits_root):
    sets = read_images("digits", digits_root)
    train, test = sets["train"], sets["test"]
    assert train.images.shape[1:] == (28, 28, 1) and test.images.shape[1:] == (28, 28, 1)
    assert len(train) + len(test) == 1797 and 0.15 < len(test) / 1797 < 0.25
    assert set(train.labels.tolist()) == set(test.labels.tolist()) == set(range(10))
    pixels = np.concatenate([train.images, test.images])[..., 0]
    assert pixels[:, :4].max() == 0 and pixels[:, -4:].max() == 0 and pixels[:, :, :4].max() == 0
    inked = (pixels[:, 4:24, 4:24] > 128).sum(axis=(1, 2))
    assert inked.min() > 10 and pixels.max() == 255
    assert (digits_root / "README.txt").is_file()


def test_the_digits_demo_is_deterministic_for_a_seed(digits_root, tmp_path):
    again = write_digits_demo(tmp_path / "again", seed=3)
    for name in IDX_FILES:
        assert (again / f"{name}.gz").read_bytes() == (digits_root / f"{name}.gz").read_bytes()
    other = write_digits_demo(tmp_path / "other", seed=4)
    assert (other / "t10k-labels-idx1-ubyte.gz").read_bytes() != (again / "t10k-labels-idx1-ubyte.gz").read_bytes()


def test_the_digits_demo_does_not_overwrite_real_mnist(tmp_path):
    _write_mnist(tmp_path)
    with pytest.raises(DatasetError, match="did not write"):
        write_digits_demo(tmp_path)
