"""``wavegen sample`` for WaveNet checkpoints: options in, audio files out.

    wavegen sample --checkpoint exp/wavenet-demo/model.safetensors -o out/ --seconds 2 -n 4 --speaker p226
    wavegen sample --checkpoint vocoder.safetensors -o out/ --mel-from speech.wav

Each file's name says what made it: ``<speaker>-seed<seed>-<i>.wav`` for a
speaker-conditioned model, ``<stem>-vocoded-seed<seed>-<i>.wav`` with
``--mel-from``, ``sample-seed<seed>-<i>.wav`` otherwise, and ``-t<temperature>``
before the index when the temperature is not 1. Files are written atomically at
the model's sample rate; a file already there is replaced only with ``overwrite``
(which also removes the rest of an earlier, longer run of the same name), and
more than :data:`~wavegen.core.sampling.MAX_SAMPLES` files or an estimated
:data:`~wavegen.core.sampling.MAX_BYTES` need ``many``: all checked before any
sampling starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from wavegen.audio.io import audio_info, read_audio, write_audio
from wavegen.audio.wavenet.model import WaveNet
from wavegen.audio.wavenet.sampling import PATHS, generate
from wavegen.core.autoregressive import make_draws
from wavegen.core.sampling import (SampleFiles, SampleRequest, check_request, plan_outputs, refuse, safe_name,
                                   temperature_tag)
from wavegen.errors import AudioFileError, WavegenError
from wavegen.words import counted


def write_samples(model: WaveNet, out_dir: str | Path, request: SampleRequest,
                  progress: Callable[[int, int], None] | None = None) -> SampleFiles:
    """Generate ``request.count`` waveforms and write them into ``out_dir``; returns the paths."""
    check_request(request)
    refuse(request, ("label", "interpolate"), "WaveNet is conditioned on speakers and mel frames, not classes")
    path = request.path or "fused"
    if path not in PATHS:
        raise WavegenError(f"--path {path}: expected one of {', '.join(PATHS)} for WaveNet")
    device = model.input_conv.weight.device
    speaker = resolve_speaker(model, request.speaker)
    if request.mel_from is None and model.mel is not None:
        raise WavegenError("this WaveNet is a vocoder (mel-conditioned): give --mel-from FILE.wav")
    steps = _length(model, request)
    plan = plan_outputs(out_dir, request, _stem(model, request, speaker), ".wav", bytes_each=2 * steps)  # 16-bit
    mel = None
    if request.mel_from is not None:
        mel, _ = mel_from_file(model, Path(request.mel_from))
    batch = request.count
    draws = make_draws(batch, steps, model.output.draws_per_step, request.seed)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done * batch, steps * batch)

    samples = generate(model, draws, speaker=None if speaker is None else speaker.expand(batch).to(device),
                       mel=None if mel is None else mel.expand(batch, -1, -1).to(device),
                       temperature=request.temperature, path=path, progress=advance)
    audio = model.decode(samples.cpu())
    for i, file in enumerate(plan.numbered):
        write_audio(file, audio[i].numpy(), model.sample_rate)
    return plan.finish()


def _length(model: WaveNet, request: SampleRequest) -> int:
    """Samples per file: ``--seconds``, else the ``--mel-from`` recording's length, else one second."""
    steps = None
    if request.mel_from is not None:
        if model.mel is None:
            raise WavegenError("this WaveNet has no mel conditioning: leave out --mel-from")
        steps = _check_rate(model, Path(request.mel_from)).frames
    if request.seconds is not None:
        wanted = round(request.seconds * model.sample_rate)
        if steps is not None and wanted > steps:
            raise WavegenError(f"--seconds {request.seconds}: {request.mel_from} lasts only "
                               f"{steps / model.sample_rate:.2f} s")
        steps = wanted
    return model.sample_rate if steps is None else max(1, steps)


def _check_rate(model: WaveNet, path: Path):
    """The recording's :func:`audio_info`; an error unless it is at the model's rate (it is not resampled)."""
    info = audio_info(path)
    if info.samplerate != model.sample_rate:
        raise AudioFileError(path, f"is at {info.samplerate} Hz but this vocoder works at {model.sample_rate} Hz; "
                                   f"resample it first (e.g. sox in.wav -r {model.sample_rate} out.wav)")
    return info


def _stem(model: WaveNet, request: SampleRequest, speaker: torch.Tensor | None) -> str:
    """What made the files: the speaker or the vocoded recording, the seed, and any temperature."""
    if request.mel_from is not None:
        source = f"{safe_name(Path(request.mel_from).stem)}-vocoded"
    elif speaker is not None:
        names = model.config.get("speaker_names") or []
        index = int(speaker)
        source = safe_name(names[index]) if index < len(names) else f"speaker{index}"
    else:
        source = "sample"
    return f"{source}-seed{request.seed}{temperature_tag(request.temperature)}"


def resolve_speaker(model: WaveNet, speaker: str | None) -> torch.Tensor | None:
    """A speaker name (or index) -> a (1,) index tensor; clear errors for unknown or missing speakers."""
    names = model.config.get("speaker_names") or []
    count = model.config["speakers"]
    if speaker is None:
        if count:
            known = ", ".join(names[:5]) if names else f"0…{count - 1}"
            raise WavegenError(f"this WaveNet is speaker-conditioned: give --speaker (e.g. {known})")
        return None
    if not count:
        raise WavegenError("this WaveNet has no speaker conditioning: leave out --speaker")
    if speaker in names:
        return torch.tensor([names.index(speaker)])
    if speaker.isdigit() and int(speaker) < count:
        return torch.tensor([int(speaker)])
    known = ", ".join(names[:8]) + (" …" if len(names) > 8 else "") if names else f"0…{count - 1}"
    raise WavegenError(f"unknown speaker {speaker!r}: this WaveNet knows {counted(count, 'speaker')} ({known})")


def mel_from_file(model: WaveNet, path: Path) -> tuple[torch.Tensor, int]:
    """Log-mel frames (1, n_mels, frames) of a recording at the model's rate, and its length in samples."""
    if model.mel is None:
        raise WavegenError("this WaveNet has no mel conditioning: leave out --mel-from")
    _check_rate(model, path)
    audio, _ = read_audio(path)                                            # (channels, T)
    mono = torch.from_numpy(audio).mean(dim=0, keepdim=True)                # (1, T)
    return model.mel_frames(mono.to(model.input_conv.weight.device)), mono.shape[1]
