"""``wavegen sample``'s options, shared by every sampler (audio and image models alike).

Each model's sampler module (listed in :mod:`wavegen.core.registry`) takes a
:class:`SampleRequest` and uses the options that mean something for its model;
:func:`refuse` turns every other option the user set into a one-line error, so
nothing the user asked for is silently ignored.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

from wavegen.errors import WavegenError

# How each option is spelled on the command line, for error messages.
OPTION_NAMES = {"count": "-n", "seconds": "--seconds", "seed": "--seed", "temperature": "--temperature",
                "speaker": "--speaker", "mel_from": "--mel-from", "path": "--path", "label": "--class",
                "interpolate": "--interpolate"}


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
    overwrite: bool = False               # replace files of the same name in the output folder


def refuse(request: SampleRequest, names: tuple[str, ...], why: str) -> None:
    """Raise for the first option in ``names`` that differs from its default: it means nothing here (``why``)."""
    defaults = {f.name: f.default for f in fields(SampleRequest)}
    for name in names:
        if getattr(request, name) != defaults[name]:
            raise WavegenError(f"{OPTION_NAMES[name]}: {why}; leave it out")


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
