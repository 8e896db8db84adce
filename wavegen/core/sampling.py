"""``wavegen sample``'s options and output files, shared by every sampler (audio and image models alike).

Each model's sampler module takes a :class:`SampleRequest` and uses the options
that mean something for its model; :func:`refuse` turns every other option the
user set into a one-line error, so nothing the user asked for is silently
ignored, and :func:`check_request` refuses values no sampler can use.

Files are named ``<stem>-<i><suffix>`` (``i`` from 0), the stem saying what made
them (a speaker or a recording, a class, the seed, and ``-t<T>`` for a
temperature other than 1: :func:`temperature_tag`); names keep any letter
(:func:`safe_name` replaces only what a file name cannot hold). :func:`plan_outputs`
checks, before any sampling, that nothing would be replaced without
``overwrite`` and that the run is not huge: more than :data:`MAX_SAMPLES` samples
or an estimated :data:`MAX_BYTES` of output need ``many``. With ``overwrite`` the
new run replaces an earlier run of the same stem: the earlier run's files
numbered beyond this run's count are removed (nothing else), and the sampler's
returned :class:`SampleFiles` lists them in ``removed``.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

from wavegen.core.files import refuse_existing
from wavegen.errors import WavegenError
from wavegen.words import counted

# How each option is spelled on the command line, for error messages.
OPTION_NAMES = {"count": "-n", "seconds": "--seconds", "seed": "--seed", "temperature": "--temperature",
                "speaker": "--speaker", "mel_from": "--mel-from", "path": "--path", "label": "--class",
                "interpolate": "--interpolate", "many": "--many"}

MAX_SAMPLES = 1000           # more samples than this in one run need `many` (--many)
MAX_BYTES = 10 ** 9          # so does an estimated output (uncompressed) above this, 1 GB


@dataclass
class SampleRequest:
    count: int = 1
    seconds: float | None = None          # audio length (default: 1 s, or the length of --mel-from)
    seed: int = 0
    temperature: float = 1.0
    speaker: str | None = None            # a speaker name (as in the training data) or index
    mel_from: Path | None = None          # vocode this recording's mel frames
    path: str | None = None               # autoregressive sampling implementation (None: the model's fastest)
    label: str | None = None              # a class name or index, for class-conditional models
    interpolate: tuple[str, str] | None = None   # a latent walk between two seeds or two image files
    overwrite: bool = False               # replace files of the same name (and the rest of that earlier run)
    many: bool = False                    # allow more than MAX_SAMPLES samples or MAX_BYTES of output


def refuse(request: SampleRequest, names: tuple[str, ...], why: str) -> None:
    """Raise for the first option in ``names`` that differs from its default: it means nothing here (``why``)."""
    defaults = {f.name: f.default for f in fields(SampleRequest)}
    for name in names:
        if getattr(request, name) != defaults[name]:
            raise WavegenError(f"{OPTION_NAMES[name]}: {why}; leave it out")


def check_request(request: SampleRequest) -> None:
    """One line for a value no sampler can use: -n below 1, a temperature or length that is not a positive number.

    ``count`` may still be None (the sampler's default is filled in later).
    """
    if request.count is not None and request.count < 1:
        raise WavegenError(f"-n must be at least 1, got {request.count}")
    if not _positive(request.temperature):
        raise WavegenError(f"--temperature must be a positive number, got {request.temperature} "
                           "(below 1 sharpens the output distribution, above 1 flattens it)")
    if request.seconds is not None and not _positive(request.seconds):
        raise WavegenError(f"--seconds must be a positive number, got {request.seconds}")


def _positive(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def temperature_tag(temperature: float) -> str:
    """``-t<T>`` for a file stem when the temperature is not 1 (``-t0.5``); empty at 1."""
    return "" if temperature == 1.0 else f"-t{temperature:g}"


# Characters a file name cannot hold on some system: path separators, control characters and Windows' reserved ones.
_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]+')


def safe_name(text: str, limit: int = 40) -> str:
    """``text`` fit for a file name: letters of any script kept, unsafe characters and leading dots as ``_``."""
    name = _UNSAFE.sub("_", str(text)).strip()
    name = re.sub(r"^\.+", lambda dots: "_" * len(dots.group()), name)[:limit]
    return name or "_"


def safe_names(names: list[str], limit: int = 40) -> list[str]:
    """:func:`safe_name` of each of ``names``, all different: a collision gets the item's index appended.

    A name that was safe already keeps it; one that had to change and meets
    another becomes ``<safe>-<index>`` (``a/b`` and ``a:b`` -> ``a_b-0``, ``a_b-1``).
    """
    safe = [safe_name(name, limit) for name in names]
    taken = {s for s, name in zip(safe, names) if s == name}
    result = []
    for index, (s, name) in enumerate(zip(safe, names)):
        if s != name and (s in taken or safe.count(s) > 1):
            s = f"{s}-{index}"
            while s in taken:
                s += "_"
        taken.add(s)
        result.append(s)
    return result


class SampleFiles(list):
    """The paths a sampler wrote, in order; ``removed``: the earlier run's files it removed (``overwrite``)."""

    def __init__(self, paths=(), removed=()):
        super().__init__(paths)
        self.removed: list[Path] = list(removed)


@dataclass
class OutputPlan:
    """What a sampler will write (``numbered`` then ``others``), checked; ``stale``: an earlier run's leftovers."""

    numbered: list[Path]
    others: list[Path] = field(default_factory=list)
    stale: list[Path] = field(default_factory=list)

    def finish(self) -> SampleFiles:
        """After the new files are written: remove the earlier run's leftovers; the written paths."""
        for path in self.stale:
            path.unlink(missing_ok=True)
        return SampleFiles([*self.numbered, *self.others], self.stale)


def plan_outputs(out_dir: str | Path, request: SampleRequest, stem: str, suffix: str, *,
                 others: tuple[str, ...] = (), bytes_each: int = 0, count: int | None = None) -> OutputPlan:
    """Check, before any sampling, the files ``out_dir/<stem>-<i><suffix>`` (i < count) and ``others``.

    ``count`` is ``request.count`` unless given (a walk of every class makes
    more). Refused in one line: ``out_dir`` being a file, a file there already
    without ``request.overwrite`` (a folder in the way always), and a run of
    more than :data:`MAX_SAMPLES` samples or ``count · bytes_each`` above
    :data:`MAX_BYTES` without ``request.many``. With ``overwrite`` the plan's
    ``stale`` lists the earlier run's ``<stem>-<j><suffix>`` files with ``j >= count``.
    """
    out_dir = Path(out_dir)
    count = request.count if count is None else count
    check_size(request, count, count * bytes_each)
    for folder in (out_dir, *out_dir.parents):
        if folder.exists() and not folder.is_dir():
            raise WavegenError(f"-o {out_dir}: {'' if folder == out_dir else f'{folder} '}is a file, not a folder")
    numbered = [out_dir / f"{stem}-{i}{suffix}" for i in range(count)]
    extra = [out_dir / name for name in others]
    refuse_existing([*numbered, *extra], request.overwrite, instead="or another -o folder or --seed")
    stale = earlier_run(out_dir, stem, suffix, count) if request.overwrite else []
    return OutputPlan(numbered, extra, stale)


def check_size(request: SampleRequest, count: int, estimated_bytes: int = 0) -> None:
    """Refuse (unless ``request.many``) more than :data:`MAX_SAMPLES` samples or :data:`MAX_BYTES` of output."""
    if request.many or (count <= MAX_SAMPLES and estimated_bytes <= MAX_BYTES):
        return
    size = f" (about {_size(estimated_bytes)})" if estimated_bytes else ""
    raise WavegenError(f"-n {request.count}: {counted(count, 'sample')}{size}; more than {MAX_SAMPLES} "
                       f"samples or {_size(MAX_BYTES)} of output in one run needs --many")


def _size(n: int) -> str:
    for unit, scale in (("GB", 10 ** 9), ("MB", 10 ** 6), ("kB", 10 ** 3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def earlier_run(out_dir: Path, stem: str, suffix: str, count: int) -> list[Path]:
    """The files ``<stem>-<j><suffix>`` in ``out_dir`` with ``j >= count`` (plain files only), by ``j``."""
    if not out_dir.is_dir():
        return []
    pattern = re.compile(rf"{re.escape(stem)}-(0|[1-9][0-9]*){re.escape(suffix)}")
    found = []
    for path in out_dir.iterdir():
        match = pattern.fullmatch(path.name)
        if match and int(match.group(1)) >= count and path.is_file() and not path.is_symlink():
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


@contextmanager
def one_thread():
    """Run the block on one CPU thread: the same draws then give the same bits in every process.

    A float reduction split across threads can be split differently when the OS is busy, and
    differ in its last bit; in a 16-bit WAV that shows as 1-LSB differences between two runs
    with the same seed (seen for WaveGAN under load). Samplers that promise identical files for
    a seed generate inside this.
    """
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
