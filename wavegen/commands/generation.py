"""``wavegen sample`` and ``wavegen evaluate-generation``: which pipeline serves which generator.

Each generator declares a capability (:mod:`wavegen.core.capabilities`); the
table :data:`SAMPLERS` gives, for each kind, the pipeline function that writes
its samples. Scoring generated clips or images reads the real ones of a dataset
here (an SC09 folder or an image dataset, or a recipe's prepared cache), so the
audio and vision pipelines never reach into ``wavegen.data``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from wavegen.audio import generation as clips
from wavegen.audio import vocode
from wavegen.audio.capabilities import ClipGenerator
from wavegen.audio.classifier import AudioClassifier
from wavegen.audio.hifigan.model import HiFiGAN
from wavegen.audio.wavenet import generate as wavenet_generate
from wavegen.audio.wavenet.model import WaveNet
from wavegen.core.capabilities import Classifier, Sampler, require
from wavegen.core.files import refuse_existing, write_json_atomic
from wavegen.core.sampling import SampleFiles, SampleRequest, check_request
from wavegen.data.images import ImageManifest, check_image_layout, prepare_images
from wavegen.data.sc09 import SC09Manifest, prepare_sc09
from wavegen.errors import WavegenError
from wavegen.models import load_for
from wavegen.vision import evaluate as images
from wavegen.vision import generate as image_generate
from wavegen.vision.capabilities import ImageGenerator
from wavegen.vision.classifier import ImageClassifier
from wavegen.words import article, counted

# What `wavegen sample` runs for each kind of generator: (capability or class, module with
# write_samples and, optionally, DEFAULT_COUNT / DEFAULT_STEPS).
SAMPLERS = ((WaveNet, wavenet_generate), (HiFiGAN, vocode), (ClipGenerator, clips),
            (ImageGenerator, image_generate))


def sampler_for(model):
    """The module whose ``write_samples`` samples ``model``; a one-line error for a model that cannot be sampled."""
    require(model, Sampler)
    for kind, module in SAMPLERS:
        if isinstance(model, kind):
            return module
    raise WavegenError(f"no sampler for a {model.registry_name} model")     # a Sampler missing from the table


def sample(model, out_dir: str | Path, request: SampleRequest,
           progress: Callable[[int, int], None] | None = None) -> SampleFiles:
    """``wavegen sample``: write ``request``'s samples of ``model`` into ``out_dir``; returns the paths.

    The returned list's ``removed`` names an earlier run's files that ``request.overwrite`` cleared away.
    """
    check_request(request)
    module = sampler_for(model)
    if request.count is None:         # each sampler's own default: one sound, a grid of images, a walk of ten
        request.count = getattr(module, "DEFAULT_STEPS" if request.interpolate else "DEFAULT_COUNT", 1)
    return module.write_samples(model, out_dir, request, progress=progress)


# -n when not given, by what is scored
DEFAULT_SCORED = {"clips": 2000, "images": 1000}


def evaluate_generation(checkpoint: str | Path, classifier: str | Path, data: str | Path, *,
                        count: int | None = None, seed: int = 0, splits: int = 10, device="cpu",
                        progress=None, json_path: str | Path | None = None,
                        overwrite: bool = False) -> tuple[list[dict], str]:
    """``wavegen evaluate-generation``: (rows, the table) of a generator's clips or images beside real ones.

    ``data`` is the real dataset (an SC09 folder, MNIST / Fashion-MNIST idx files,
    CIFAR-10 batches or class folders of images; packed into a temporary cache
    first) or a recipe's prepared cache (``exp/<model>-<data>/data``). With
    ``json_path`` the rows are also written there as JSON, replacing a file only
    with ``overwrite``. Everything that can be checked is checked before any
    data is read or scored: the JSON path, ``splits`` against ``count``, that the
    generator makes clips or images and the classifier judges the same, and that
    the real test and training sets hold enough examples for ``splits``.
    """
    if json_path is not None:
        _check_json_path(Path(json_path), overwrite)
    if count is not None:
        _check_splits(splits, count)
    model = load_for(checkpoint, Sampler, device=device)
    if not isinstance(model, (ClipGenerator, ImageGenerator)):
        raise WavegenError(f"-c {checkpoint}: {article(model.registry_name)} checkpoint makes neither clips nor "
                           "images to score; give a SpecGAN, WaveGAN or image generator checkpoint")
    noun = "clips" if isinstance(model, ClipGenerator) else "images"
    count = count or DEFAULT_SCORED[noun]
    _check_splits(splits, count, default=noun)
    judge = load_for(classifier, Classifier, device=device)
    wanted = AudioClassifier if noun == "clips" else ImageClassifier
    if not isinstance(judge, wanted):
        raise WavegenError(f"--classifier {classifier}: {article(judge.registry_name)} checkpoint cannot judge "
                           f"what {article(model.registry_name)} makes (train {article(wanted.registry_name)} with "
                           "`wavegen recipe classifier` on the generator's data)")
    if noun == "clips":
        rows = _score_clips(model, judge, Path(data), count=count, seed=seed, splits=splits, progress=progress)
        table = clips.format_scores(rows)
    else:
        rows = _score_images(model, judge, Path(data), count=count, seed=seed, splits=splits, progress=progress)
        table = images.format_image_scores(rows)
    if json_path is not None:
        write_json_atomic(json_path, rows)
    return rows, table


def _check_json_path(path: Path, overwrite: bool) -> None:
    """--json: not a folder, no file replaced without --overwrite, and a folder that can be made for it."""
    refuse_existing([path], overwrite, instead="or another --json file")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise WavegenError(f"--json {path}: {parent} is a file, not a folder")


def _check_splits(splits: int, count: int, default: str = "") -> None:
    """The inception score splits ``count`` examples: at most one split per example."""
    if splits > count:
        given = "-n" if not default else f"-n, the default for {default}"
        raise WavegenError(f"--splits {splits}: more than the {counted(count, 'example')} scored ({given}); "
                           f"give --splits {count} or fewer, or a larger -n")


def _check_real(counts: dict, splits: int, count: int, data: Path, noun: str) -> None:
    """The real test set (scored whole) and training set (``count`` of it) need an example per split, and two."""
    for split, scored in (("test", counts.get("test", 0)), ("train", min(count, counts.get("train", 0)))):
        if scored < max(splits, 2):
            raise WavegenError(f"--data {data}: its {split} split holds {counted(counts.get(split, 0), noun[:-1])}, "
                               f"too few for --splits {splits}; lower --splits or give more data")


def _score_clips(model, classifier, data: Path, *, count, seed, splits, progress) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="wavegen-sc09-") as scratch:
        manifest = (SC09Manifest.load(data) if (data / "manifest.json").is_file()
                    else prepare_sc09(data, scratch, progress=progress))
        if tuple(manifest.words) != tuple(classifier.labels):
            raise WavegenError(f"--classifier knows {', '.join(classifier.labels)}, but {data} holds "
                               f"{', '.join(manifest.words)}")
        _check_real(manifest.counts, splits, count, data, "clips")
        return clips.evaluate_generation({model.registry_name: model.generate_audio}, classifier,
                                         clips.real_clips(manifest, "test"), clips.real_clips(manifest, "train"),
                                         count=count, seed=seed, splits=splits)


def _image_kind(root: Path) -> str:
    """Which reader a dataset folder needs: MNIST's idx files, CIFAR-10's batches, or a folder of images."""
    for kind in ("mnist", "cifar10"):
        try:
            check_image_layout(kind, root)
            return kind
        except WavegenError:
            continue
    return "folder"


def _score_images(model, classifier, data: Path, *, count, seed, splits, progress) -> list[dict]:
    if list(classifier.image_shape) != list(model.image_shape):
        raise WavegenError(f"--classifier takes {classifier.image_shape} images, the generator makes "
                           f"{model.image_shape}")
    with tempfile.TemporaryDirectory(prefix="wavegen-images-") as scratch:
        if (data / "manifest.json").is_file():
            manifest = ImageManifest.load(data)
        else:
            kind = _image_kind(data)
            manifest = prepare_images(kind, data, scratch, progress=progress,
                                      image_size=model.image_shape[1] if kind == "folder" else None)
        if list(manifest.classes) != list(classifier.classes):
            raise WavegenError(f"--classifier knows {', '.join(classifier.classes)}, but {data} holds "
                               f"{', '.join(manifest.classes) or 'unlabelled images'}")
        _check_real(manifest.counts, splits, count, data, "images")
        test, train = images.real_images(manifest, "test"), images.real_images(manifest, "train")
        if list(test[0].shape[1:]) != list(model.image_shape):
            raise WavegenError(f"{data} holds {list(test[0].shape[1:])} images, the generator makes "
                               f"{model.image_shape}")
        return images.evaluate_images({model.registry_name: lambda n, s: images.draw_images(model, n, s)},
                                      classifier, test, train, count=count, seed=seed, splits=splits)
