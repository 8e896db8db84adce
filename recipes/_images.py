"""Stages shared by the image recipes: VAE, CVAE, the semi-supervised VAE (M2) and the image classifier.

Every recipe starts the same way: the dataset (a real one found on disk, or the
embedded digits written in MNIST's layout as a stage), then ``prepare`` packs
its train and test images into the experiment's ``data/`` cache once.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from wavegen.recipes._common import begin, checkpoint_digest, default_classifier, fit, model_kwargs, split_overrides
from wavegen.core.experiment import Experiment, apply_overrides
from wavegen.core.files import write_json_atomic, write_text_atomic
from wavegen.errors import WavegenError
from wavegen.progress import wrap_iterable

log = logging.getLogger(__name__)

# What differs between datasets: image size, likelihood and network shape.
# Grey-level digit and clothing images are modelled as binarised MNIST is (Bernoulli pixels, a fresh
# binarisation each step, one fixed binarisation of the test set); colour images by a discretised
# logistic mixture over 256 levels.
DATASETS = {
    "digits": {"image_size": None, "binarize": True},
    "mnist": {"image_size": None, "binarize": True},
    "fashion-mnist": {"image_size": None, "binarize": True},
    "cifar10": {"image_size": None, "binarize": False},
    "folder": {"image_size": 64, "binarize": False},
}
GREY = {"architecture": "mlp", "likelihood": "bernoulli"}
COLOUR = {"architecture": "conv", "likelihood": "discretized_logistic", "latent": 128}
DEMO_DIGITS = {"seed": 0, "test_fraction": 0.2}


def image_shape(dataset: str) -> list[int]:
    size = DATASETS[dataset]["image_size"]
    return {"cifar10": [3, 32, 32], "folder": [3, size, size]}.get(dataset, [1, 28, 28])


def model_preset(dataset: str) -> dict:
    if dataset in ("cifar10", "folder"):
        depth = 3 if dataset == "cifar10" else 4
        return {**COLOUR, "channels": [64, 128, 256, 512][:depth], "image_shape": image_shape(dataset)}
    return {**GREY, "image_shape": image_shape(dataset)}


def train_section(max_steps: int, batch_size: int = 100, lr: float = 1e-3, **extra) -> dict:
    every = max(max_steps // 6, 1)
    return {"max_steps": max_steps, "batch_size": batch_size, "lr": lr, "seed": 0, "device": "auto",
            "checkpoint_every": every, "eval_every": every, "log_every": max(min(every // 10, 50), 1),
            "ema_decay": 0.0, **extra}


# ---------------------------------------------------------------- data

def start(exp_dir: Path, data_root: Path | None, overrides: list[str], base_config: dict, dataset: str,
          check_config) -> tuple[dict, Experiment, torch.device, dict]:
    """(config, experiment, device, prepared data): the dataset found (or the digits written), packed once."""
    from wavegen.data.images import check_image_layout, prepare_images
    make_corpus = None
    if dataset == "digits":
        from wavegen.data.digits_demo import write_digits_demo
        corpus = apply_overrides(base_config, overrides)["corpus"]
        make_corpus = lambda root: write_digits_demo(data_root or root, **corpus)   # noqa: E731
    config, exp, device, root = begin(exp_dir, data_root, overrides, base_config, check_config=check_config,
                                      corpus=dataset, make_corpus=make_corpus,
                                      check_layout=lambda root, config: check_image_layout(dataset, root))

    def prepare() -> dict:
        m = prepare_images(dataset, root, exp.dir / "data", image_size=DATASETS[dataset]["image_size"],
                           progress=wrap_iterable("prepare data", unit="image"))
        return {"cache_dir": str(exp.dir / "data"), "root": str(root), "counts": m.counts,
                "classes": list(m.classes), "dataset": dataset}

    data = exp.stage("prepare", {"root": str(root)}, prepare, always=True)
    return config, exp, device, data


def split(data: dict, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, C, H, W) float in [0, 1], labels (N,)) of a prepared split."""
    from wavegen.data.images import ImageManifest
    from wavegen.vision.images import to_tensor
    images = ImageManifest.load(data["cache_dir"]).split(name)
    return to_tensor(images.images), torch.from_numpy(np.array(images.labels))


def dataset(data: dict, name: str):
    from wavegen.data.images import ImageManifest
    from wavegen.vision.images import ImageDataset
    images = ImageManifest.load(data["cache_dir"]).split(name)
    return ImageDataset(images.images, images.labels)


def test_images(data: dict, binarize: bool, count: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The test split (its first ``count`` in a seeded order, 0 = all), binarised once with seed 0 if asked."""
    from wavegen.vision.images import fixed_binarization
    images, labels = split(data, "test")
    if count and count < len(images):
        rows = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:count]
        images, labels = images[rows], labels[rows]
    return (fixed_binarization(images) if binarize else images), labels


def labelled(data: dict) -> bool:
    return bool(data["classes"])


def require_labels(data: dict, what: str) -> None:
    if not labelled(data):
        raise WavegenError(f"{data['root']}: the images are not in class folders, and {what} needs labels")


def validation_batches(images: torch.Tensor, labels: torch.Tensor, count: int = 500, batch: int = 100):
    """A few held-out batches for the trainer's periodic evaluation."""
    return list(zip(images[:count].split(batch), labels[:count].split(batch)))


# ---------------------------------------------------------------- VAE and CVAE

def vae_config(dataset: str, conditional: bool, max_steps: int = 100_000) -> dict:
    from wavegen.vision.vae import ImageVAE
    config = {
        "model": model_kwargs(ImageVAE, model_preset(dataset), skip=("classes",)),
        "train": train_section(max_steps, kl_warmup_steps=0, free_bits=0.0),
        # bounds: IWAE sample counts; count: test images scored (0 = all); per_class: conditional samples
        # per class judged by the classifier ("" = the classifier recipe's, trained first if missing).
        "evaluate": {"ks": [1, 5, 50], "count": 0, "classifier": "", "per_class": 100},
        "sample": {"seed": 0},
    }
    if dataset == "digits":
        config["corpus"] = dict(DEMO_DIGITS)
    if not conditional:
        del config["evaluate"]["classifier"], config["evaluate"]["per_class"]
    return config


def run_vae(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict, dataset: str,
            conditional: bool) -> str:
    """prepare → train → evaluate (ELBO and IWAE bounds on the test set) → report (pictures) [→ class check]."""
    from wavegen.vision.vae import ImageVAE

    def check_config(config):
        ImageVAE(**config["model"], classes=["a", "b"] if conditional else [])
        if any(k < 1 for k in config["evaluate"]["ks"]):
            raise WavegenError(f"evaluate.ks must all be at least 1, got {config['evaluate']['ks']}")

    for_classifier, overrides = split_overrides(overrides)
    config, exp, device, data = start(exp_dir, data_root, overrides, base_config, dataset, check_config)
    if conditional:
        require_labels(data, "a conditional VAE")
    binarize = DATASETS[dataset]["binarize"]
    exp.stage("train", {k: config[k] for k in ("model", "train")},
              lambda: train_vae(exp, data, config, device, conditional, binarize))
    model_path = exp.dir / "model.safetensors"
    bounds = exp.stage("evaluate", {k: v for k, v in config["evaluate"].items() if k in ("ks", "count")},
                       lambda: evaluate_vae(exp, data, config["evaluate"], binarize, device, conditional))
    exp.stage("report", config["sample"], lambda: report_vae(exp, data, config["sample"], device))
    table = bounds["table"]
    if conditional:
        classifier = config["evaluate"]["classifier"] or str(default_classifier(
            exp_dir, overrides, for_classifier, dataset, data["root"]))
        check = exp.stage("classes", {"classifier": checkpoint_digest(classifier), "per_class": config["evaluate"]["per_class"]},
                          lambda: check_classes(model_path, classifier, config["evaluate"]["per_class"], device))
        table += "\n" + check["line"]
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    return table


def train_vae(exp: Experiment, data: dict, config: dict, device: torch.device, conditional: bool,
              binarize: bool) -> dict:
    from wavegen.core.trainer import seed_everything
    from wavegen.core.vae import VAETask
    from wavegen.vision.images import binarize as binarize_images
    from wavegen.vision.vae import ImageVAE
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = ImageVAE(**config["model"], classes=data["classes"] if conditional else [])
    images, labels = test_images(data, binarize, 500)
    validation = validation_batches(images, labels) if conditional else [b for b, _ in validation_batches(images, labels)]
    task = VAETask(model, lr=cfg["lr"], validation=validation, kl_warmup_steps=cfg["kl_warmup_steps"],
                   free_bits=cfg["free_bits"], augment=binarize_images if binarize else None)
    train = dataset(data, "train")
    if not conditional:
        train = ImagesOnly(train)
    return fit(exp, task, train, cfg, device)


class ImagesOnly:
    """A labelled dataset's images alone, for unconditional models."""

    def __init__(self, items):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        return self.items[index][0]


def evaluate_vae(exp: Experiment, data: dict, cfg: dict, binarize: bool, device: torch.device,
                 conditional: bool) -> dict:
    import wavegen
    from wavegen.vision.reports import format_bounds, likelihood_bounds
    model = wavegen.load(exp.dir / "model.safetensors", device=device)
    images, labels = test_images(data, binarize, cfg["count"])
    rows = likelihood_bounds(model, images, labels if conditional else None, ks=cfg["ks"])
    what = (f"{len(images)} test images" + (", binarised once (seed 0)" if binarize else "")
            + (", given their labels: log p(x|y)" if conditional else ""))
    table = format_bounds(rows, what)
    write_json_atomic(exp.dir / "bounds.json", rows)
    return {"rows": rows, "table": table}


def report_vae(exp: Experiment, data: dict, cfg: dict, device: torch.device, model_path: Path | None = None) -> dict:
    import wavegen
    from wavegen.vision.reports import write_pictures
    model = wavegen.load(model_path or exp.dir / "model.safetensors", device=device)
    images, labels = split(data, "test")
    paths = write_pictures(model, images, labels, exp.dir / "samples", seed=cfg["seed"])
    return {"files": [str(p) for p in paths]}


def check_classes(model_path: Path, classifier_path: str, per_class: int, device: torch.device) -> dict:
    """The share of conditional samples that the classifier assigns to the asked class."""
    import wavegen
    from wavegen.vision.evaluate import conditional_accuracy
    model = wavegen.load(model_path, device=device)
    classifier = wavegen.load(classifier_path, device=device)
    if list(classifier.classes) != list(model.classes):
        raise WavegenError(f"{classifier_path}: a classifier of other classes ({', '.join(classifier.classes)})")
    accuracy = conditional_accuracy(model, classifier, per_class)
    line = (f"conditional samples of the asked class, by the classifier: {accuracy:.1%} "
            f"({per_class} per class)")
    return {"accuracy": accuracy, "line": line}




# ---------------------------------------------------------------- the image classifier

def classifier_config(dataset: str, max_steps: int = 20_000) -> dict:
    from wavegen.vision.classifier import ImageClassifier
    preset = {"image_shape": image_shape(dataset), "architecture": "conv",
              "channels": [32, 64] if dataset != "folder" else [32, 64, 128, 256]}
    config = {"model": model_kwargs(ImageClassifier, preset, skip=("classes",)),
              "train": train_section(max_steps, batch_size=64, max_shift=2, weight_decay=1e-4)}
    if dataset == "digits":
        config["corpus"] = dict(DEMO_DIGITS)
    return config


def run_classifier(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict,
                   dataset: str) -> str:
    """prepare → train (random shifts of up to train.max_shift pixels) → evaluate (test accuracy)."""
    from wavegen.vision.classifier import ImageClassifier

    def check_config(config):
        ImageClassifier(**config["model"], classes=["a", "b"])
        if config["train"]["max_shift"] < 0 or config["train"]["weight_decay"] < 0:
            raise WavegenError("train.max_shift and train.weight_decay must be at least 0")

    config, exp, device, data = start(exp_dir, data_root, overrides, base_config, dataset, check_config)
    require_labels(data, "a classifier")
    exp.stage("train", {k: config[k] for k in ("model", "train")},
              lambda: train_classifier(exp, data, config, device))
    result = exp.stage("evaluate", {}, lambda: evaluate_classifier(exp.dir / "model.safetensors", data, device))
    write_text_atomic(exp.dir / "results.txt", result["line"] + "\n")
    return result["line"]


def train_classifier(exp: Experiment, data: dict, config: dict, device: torch.device, *, train=None,
                     folder: Path | None = None, binarize: bool = False) -> dict:
    """Train an image classifier on ``train`` (default: the whole training split), on binarised images if asked."""
    from wavegen.core.likelihood import ClassifierTask
    from wavegen.core.trainer import seed_everything
    from wavegen.vision.classifier import ImageClassifier
    from wavegen.vision.images import binarize as binarize_images
    from wavegen.vision.images import shift_images
    cfg = config["train"]
    seed_everything(cfg["seed"])
    model = ImageClassifier(**config["model"], classes=data["classes"])
    images, labels = test_images(data, binarize=binarize, count=500)
    task = ClassifierTask(model, lr=cfg["lr"], weight_decay=cfg["weight_decay"],
                          augment=lambda x: shift_images(binarize_images(x) if binarize else x, cfg["max_shift"]),
                          validation=validation_batches(images, labels))
    train = dataset(data, "train") if train is None else train
    return fit(exp, task, train, cfg, device, batch_size=min(cfg["batch_size"], len(train)), folder=folder)


def evaluate_classifier(path: Path, data: dict, device: torch.device) -> dict:
    import wavegen
    classifier = wavegen.load(path, device=device)
    images, labels = split(data, "test")
    accuracy = classifier.accuracy(images, labels)
    return {"accuracy": accuracy, "line": f"test accuracy {accuracy:.2%} ({len(images)} test images, "
                                          f"error {1 - accuracy:.2%})"}


# ---------------------------------------------------------------- the semi-supervised VAE (M2)

def ssvae_config(dataset: str, max_steps: int = 50_000, lr: float = 3e-4) -> dict:
    """M2 as Kingma et al. 2014 (§4.2) train it, and the same q(y|x) network on the labels alone beside it."""
    from wavegen.vision.vae import SemiSupervisedVAE
    preset = {**model_preset(dataset), "latent": 50}
    if preset["architecture"] == "mlp":
        preset.update(hidden=[500], classifier_hidden=[500])
    config = {
        "model": model_kwargs(SemiSupervisedVAE, preset, skip=("classes",)),
        # alpha_ratio: α = alpha_ratio·N, the paper's 0.1·N; batch_size: unlabelled and labelled images per step.
        "train": train_section(max_steps, lr=lr, alpha_ratio=0.1),
        # labels: labelled training examples per run (0 = all); counts above the training set are skipped.
        "labels": [100, 600, 1000, 3000, 0],
        # draws: labelled subsets drawn per count below the whole training set (seeds train.seed, +1, ...).
        "draws": 3,
        "baseline": {"dropout": 0.5, "weight_decay": 1e-4, "lr": 1e-3, "max_shift": 0},
        "sample": {"seed": 0},
    }
    if dataset == "digits":
        config["corpus"] = dict(DEMO_DIGITS)
    return config


def run_ssvae(exp_dir: Path, data_root: Path | None, overrides: list[str], *, base_config: dict,
              dataset: str) -> str:
    """prepare → for each label count: train M2 and a labels-only classifier → the test error table → report.

    Each label count is drawn ``draws`` times (seeds train.seed, +1, ...: the labelled
    subset, the initialisation and the batch order change together) and the table gives
    the mean and spread. Each run lives in ``labels-<n>/draw-<d>/`` (M2's
    ``model.safetensors``, the baseline's in ``baseline/``); the pictures come from the
    first draw with the fewest labels.
    """
    from wavegen.vision.vae import SemiSupervisedVAE

    def check_config(config):
        SemiSupervisedVAE(**config["model"], classes=["a", "b"])
        if not config["labels"] or any(n < 0 for n in config["labels"]) or config["train"]["alpha_ratio"] < 0:
            raise WavegenError("labels must be a non-empty list of counts (0 = all) and train.alpha_ratio at least 0")
        if config["draws"] < 1:
            raise WavegenError(f"draws must be at least 1, got {config['draws']}")

    config, exp, device, data = start(exp_dir, data_root, overrides, base_config, dataset, check_config)
    require_labels(data, "semi-supervised learning")
    total = data["counts"]["train"]
    counts = sorted({n or total for n in config["labels"] if n <= total})
    skipped = [n for n in config["labels"] if n > total]
    rows = []
    for n in counts:
        m2_errors, baseline_errors = [], []
        for draw in range(config["draws"] if n < total else 1):       # all labels: one subset, one run
            drawn = {**config, "train": {**config["train"], "seed": config["train"]["seed"] + draw}}
            folder = exp.dir / f"labels-{n}" / f"draw-{draw}"
            m2 = exp.stage(f"train-{n}-{draw}", {k: drawn[k] for k in ("model", "train")},
                           lambda: train_ssvae(exp, data, drawn, device, n, folder))
            base = exp.stage(f"baseline-{n}-{draw}", {"train": drawn["train"], "baseline": drawn["baseline"]},
                             lambda: train_baseline(exp, data, drawn, device, n, folder / "baseline"))
            m2_errors.append(m2["error"])
            baseline_errors.append(base["error"])
        rows.append({"labels": n, "m2_errors": m2_errors, "baseline_errors": baseline_errors})
    table = format_ssl_table(rows, dataset, data["counts"]["test"], skipped, total)
    write_json_atomic(exp.dir / "errors.json", rows)
    write_text_atomic(exp.dir / "results.txt", table + "\n")
    exp.stage("report", config["sample"], lambda: report_vae(exp, data, config["sample"], device,
                                                              model_path=exp.dir / f"labels-{counts[0]}" / "draw-0" / "model.safetensors"))
    return table


def train_ssvae(exp: Experiment, data: dict, config: dict, device: torch.device, count: int, folder: Path) -> dict:
    from wavegen.core.trainer import seed_everything
    from wavegen.core.vae import SemiSupervisedVAETask
    from wavegen.data.images import ImageManifest
    from wavegen.vision.images import binarize as binarize_images
    from wavegen.vision.semi_supervised import SemiSupervisedDataset, balanced_subset
    from wavegen.vision.vae import SemiSupervisedVAE
    import wavegen
    cfg = config["train"]
    seed_everything(cfg["seed"])
    train = ImageManifest.load(data["cache_dir"]).split("train")
    chosen = balanced_subset(np.asarray(train.labels), count, seed=cfg["seed"])
    mixed = SemiSupervisedDataset(train.images, np.asarray(train.labels), chosen)
    model = SemiSupervisedVAE(**config["model"], classes=data["classes"])
    binarize = DATASETS[data["dataset"]]["binarize"]
    images, labels = test_images(data, binarize, 500)
    task = SemiSupervisedVAETask(model, labelled=mixed.labelled_count, unlabelled=mixed.unlabelled_count,
                                 alpha_ratio=cfg["alpha_ratio"], lr=cfg["lr"], augment=binarize_images if binarize else None,
                                 validation=validation_batches(images, labels))
    result = fit(exp, task, mixed, cfg, device, folder=folder)
    trained = wavegen.load(result["checkpoint"], device=device)
    return {**result, "error": _test_error(trained.eval().classify, data, binarize, device)}


def train_baseline(exp: Experiment, data: dict, config: dict, device: torch.device, count: int, folder: Path) -> dict:
    """q(y|x)'s network (same layers) trained on the ``count`` labelled images alone, for as many steps.

    It sees its inputs as M2 does: binarised afresh each step where M2's are.
    """
    import wavegen
    from wavegen.data.images import ImageManifest
    from wavegen.vision.images import ImageDataset
    from wavegen.vision.semi_supervised import balanced_subset
    train = ImageManifest.load(data["cache_dir"]).split("train")
    labels = np.asarray(train.labels)
    chosen = balanced_subset(labels, count, seed=config["train"]["seed"])
    m = config["model"]
    base = config["baseline"]
    classifier_config = {
        "model": {"image_shape": m["image_shape"], "architecture": m["architecture"], "hidden": m["classifier_hidden"],
                  "channels": m["channels"], "embedding": 0, "dropout": base["dropout"]},
        "train": {**config["train"], "lr": base["lr"], "weight_decay": base["weight_decay"],
                  "max_shift": base["max_shift"]},
    }
    binarize = DATASETS[data["dataset"]]["binarize"]
    result = train_classifier(exp, data, classifier_config, device, train=ImageDataset(train.images[chosen], labels[chosen]),
                              folder=folder, binarize=binarize)
    trained = wavegen.load(result["checkpoint"], device=device)
    return {**result, "error": _test_error(trained.eval(), data, binarize, device)}


@torch.no_grad()
def _test_error(classify, data: dict, binarize: bool, device: torch.device) -> float:
    """Test error of ``classify`` (images -> logits) on the test split, binarised once if the models train binary."""
    images, labels = test_images(data, binarize)
    wrong = sum((classify(x.to(device)).argmax(-1).cpu() != y).sum().item()
                for x, y in zip(images.split(500), labels.split(500)))
    return wrong / len(images)


def format_ssl_table(rows: list[dict], dataset: str, test_count: int, skipped: list[int], total: int) -> str:
    """Test error per label count, M2 beside the labels-alone classifier: mean ± standard deviation over draws."""
    def cell(errors: list[float]) -> str:
        mean = float(np.mean(errors))
        return f"{mean:.2%}" + (f" ± {float(np.std(errors, ddof=1)):.2%}" if len(errors) > 1 else "")

    lines = [f"semi-supervised test error on {dataset} ({test_count} test images), lower is better",
             f"{'labels':>7} {'draws':>5} {'M2':>16} {'labels alone':>16}"]
    lines += [f"{r['labels']:>7} {len(r['m2_errors']):>5} {cell(r['m2_errors']):>16} {cell(r['baseline_errors']):>16}"
              for r in rows]
    if skipped:
        lines.append(f"(skipped {', '.join(map(str, skipped))}: the training set has {total} images)")
    lines.append("for reference, Kingma et al. 2014 on MNIST, M2 alone: 11.97% (100 labels), 4.94% (600), 3.60% (1000)")
    return "\n".join(lines)
