"""Vocoding with any vocoder: files, ``wavegen sample --mel-from``, and the side-by-side vocoder report.

    wavegen vocode --checkpoint exp/hifigan-demo/model.safetensors speech.wav -o speech-vocoded.wav
    wavegen vocode --checkpoint model.safetensors speech-mel.npy -o speech.wav

A vocoder is a model that declares the :class:`~wavegen.audio.capabilities.Vocoder`
capability: a GAN vocoder (:class:`~wavegen.audio.hifigan.model.HiFiGAN`, one
deterministic ``vocode`` call) or a mel-conditioned WaveNet (sampled through its
fused path); all take the same log-mel frames
(``wavegen.audio.features.log_mel``), so one input drives either. An input is a
recording at the vocoder's sample rate (its frames are computed here; the output
has the recording's length) or a ``.npy`` array of log-mel frames shaped
``(n_mels, frames)`` or ``(1, n_mels, frames)`` (the output has frames · hop samples).

The report (:func:`compare_vocoders`) vocodes each test utterance's own mel with
each vocoder and gives the real-time factor (seconds of audio per second of
wall-clock time, after a warm-up call, mel analysis not counted), the mean
absolute difference of log-mels to the original (nats), and a mel cepstral
distortion in dB (Kubichek 1993's formula on the DCT of the log-mels,
coefficients 1–24: the level c0 left out).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from wavegen.audio.capabilities import Vocoder
from wavegen.audio.features import MelSpec, log_mel
from wavegen.audio.hifigan.model import HiFiGAN
from wavegen.audio.io import AUDIO_EXTENSIONS, audio_info, read_audio, write_audio
from wavegen.audio.plots import save_spectrograms
from wavegen.audio.wavenet.model import WaveNet
from wavegen.audio.wavenet.sampling import generate
from wavegen.core.autoregressive import make_draws
from wavegen.core.capabilities import require
from wavegen.core.files import refuse_existing
from wavegen.core.sampling import SampleFiles, SampleRequest, check_request, refuse, safe_name
from wavegen.errors import AudioFileError, WavegenError
from wavegen.words import counted

Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------- inputs

def vocoder_features(model, what: str = "") -> MelSpec:
    """The log-mel features ``model`` vocodes from; a one-line error for a model that is not a vocoder.

    ``what`` (a checkpoint's path, say) starts the error.
    """
    require(model, Vocoder, what)                # a WaveNet vocodes only when it is mel-conditioned
    return model.mel


def ready_to_vocode(model, what: str = ""):
    """``model``, checked to be a vocoder and ready for inference (HiFi-GAN's weight normalisation folded in)."""
    vocoder_features(model, what)
    if isinstance(model, HiFiGAN):
        model.remove_weight_norm()
    return model


def read_mel_file(path: str | Path, spec: MelSpec) -> torch.Tensor:
    """Log-mel frames (n_mels, frames) from a ``.npy`` file, or an :class:`AudioFileError` naming the problem."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(path, "no such file")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        problem = "holds Python objects, not numbers" if "Object arrays" in str(exc) else "not a readable .npy file"
        raise AudioFileError(path, f"{problem}; save log-mel frames with numpy.save") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise AudioFileError(path, "is an .npz archive; save one (n_mels, frames) array with numpy.save")
    n = spec.n_mels
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2 or array.shape[0] != n:
        hint = " (transposed? frames go last)" if array.ndim == 2 and array.shape[1] == n else ""
        raise AudioFileError(path, f"has shape {array.shape}; this vocoder takes log-mel frames shaped "
                                   f"({n}, frames) or (1, {n}, frames){hint}")
    if array.shape[1] == 0:
        raise AudioFileError(path, "holds no frames")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise AudioFileError(path, f"holds {array.dtype} values; expected real log-mel magnitudes")
    if not np.isfinite(array).all():
        raise AudioFileError(path, "holds NaN or infinite values")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def read_recording(path: str | Path, spec: MelSpec) -> torch.Tensor:
    """A recording at the vocoder's rate as mono (T,); refuses other rates rather than resampling silently."""
    path = Path(path)
    rate = audio_info(path).samplerate
    if rate != spec.sample_rate:
        raise AudioFileError(path, f"is at {rate} Hz but this vocoder works at {spec.sample_rate} Hz; "
                                   f"resample it first (e.g. sox in.wav -r {spec.sample_rate} out.wav)")
    audio, _ = read_audio(path)                                           # (channels, T)
    if audio.shape[1] <= spec.n_fft // 2:
        raise AudioFileError(path, f"is too short ({counted(audio.shape[1], 'sample')}); the mel analysis needs "
                                   f"more than {spec.n_fft // 2}")
    return torch.from_numpy(audio).mean(dim=0)


def read_vocoder_input(path: str | Path, spec: MelSpec) -> tuple[torch.Tensor, int]:
    """(log-mel frames (n_mels, F), output length in samples) for a ``.npy`` file or a recording."""
    if Path(path).suffix.lower() == ".npy":
        mel = read_mel_file(path, spec)
        return mel, mel.shape[1] * spec.hop
    audio = read_recording(path, spec)
    return log_mel(audio, spec), audio.shape[0]


# --------------------------------------------------------------------------- vocoding

def vocode_mel(model, mel: torch.Tensor, *, seed: int = 0, progress: Progress | None = None) -> torch.Tensor:
    """Log-mel frames (n_mels, F) -> waveform (F · hop,) on the CPU, with a GAN vocoder or a WaveNet vocoder.

    WaveNet samples through its fused path with uniform draws from ``seed``; the
    GAN vocoder is deterministic and ignores it.
    """
    spec = vocoder_features(model)
    steps = mel.shape[-1] * spec.hop
    if not isinstance(model, WaveNet):            # a GAN vocoder: one deterministic call
        audio = model.vocode(mel).cpu()
        if progress is not None:
            progress(steps, steps)
        return audio
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, steps)

    draws = make_draws(1, steps, model.output.draws_per_step, seed)
    samples = generate(model, draws, mel=mel.unsqueeze(0), path="fused", progress=advance)
    return model.decode(samples.cpu())[0]


def check_output(output: Path, inputs: list[Path], overwrite: bool) -> None:
    """Refuse, before any work, an output that is an input, a folder, an unknown format, or exists (unless overwrite)."""
    if output.suffix.lower() not in AUDIO_EXTENSIONS:
        raise WavegenError(f"-o {output}: unsupported output format {output.suffix or '(no suffix)'!r} "
                           f"(use one of {', '.join(AUDIO_EXTENSIONS)})")
    for source in inputs:
        same = output.resolve() == source.resolve() or (output.exists() and source.exists()
                                                       and os.path.samefile(output, source))
        if same:
            raise WavegenError(f"-o {output}: is the input file; choose another output name")
    if output.is_dir():
        raise WavegenError(f"-o {output}: is a folder; give an output file name such as {output / 'out.wav'}")
    refuse_existing([output], overwrite)
    for parent in output.parents:
        if parent.exists() and not parent.is_dir():
            raise WavegenError(f"-o {output}: {parent} is a file, not a folder")


def vocode_file(model, input_path: str | Path, output_path: str | Path, *, overwrite: bool = False,
                seed: int = 0, progress: Progress | None = None) -> Path:
    """Vocode a recording or a ``.npy`` of log-mel frames into ``output_path`` (written atomically)."""
    input_path, output_path = Path(input_path), Path(output_path)
    spec = vocoder_features(model)
    check_output(output_path, [input_path], overwrite)
    mel, length = read_vocoder_input(input_path, spec)
    audio = vocode_mel(model, mel, seed=seed, progress=progress)[:length]
    return write_audio(output_path, audio.numpy(), spec.sample_rate)


# --------------------------------------------------------------------------- wavegen sample

def write_samples(model, out_dir: str | Path, request: SampleRequest,
                  progress: Progress | None = None) -> SampleFiles:
    """Vocode ``request.mel_from`` (a recording or a ``.npy``) into ``out_dir/<stem>-vocoded.wav``.

    Beside it, ``<stem>-vocoded.png``: the spectrogram of the result, under the
    recording's when the input is one. Neither replaces a file without ``overwrite``.
    """
    check_request(request)
    if request.mel_from is None:
        raise WavegenError("a GAN vocoder turns mel frames into audio: give --mel-from FILE.wav (or FILE.npy)")
    refuse(request, ("speaker", "label", "interpolate"), "the GAN vocoder is conditioned on mel frames alone")
    refuse(request, ("path",), "sampling paths are WaveNet's")
    refuse(request, ("temperature", "seed", "count"),
           "the GAN vocoder draws nothing at random, so every copy would be the same")
    spec = vocoder_features(model)
    source, out_dir = Path(request.mel_from), Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise WavegenError(f"-o {out_dir}: is a file, not a folder")
    stem = f"{safe_name(source.stem)}-vocoded"
    path, picture = out_dir / f"{stem}.wav", out_dir / f"{stem}.png"
    check_output(path, [source], overwrite=True)                      # the input, a folder, a format
    refuse_existing([path, picture], request.overwrite, instead="or another -o folder")
    mel, length = read_vocoder_input(source, spec)
    if request.seconds is not None:
        wanted = round(request.seconds * spec.sample_rate)
        if wanted > length:
            raise WavegenError(f"--seconds {request.seconds}: {source} lasts only {length / spec.sample_rate:.2f} s")
        length = wanted
        mel = mel[:, :math.ceil(length / spec.hop)]
    audio = vocode_mel(model, mel, progress=progress)[:length].numpy()
    written = write_audio(path, audio, spec.sample_rate)
    rows = [(f"{source.name} vocoded by {model.registry_name}", audio)]
    if source.suffix.lower() != ".npy":            # beside the recording it came from
        rows.insert(0, (source.name, read_audio(source)[0].mean(axis=0)[:length]))
    return SampleFiles([written, save_spectrograms(picture, rows, spec.sample_rate)])


# --------------------------------------------------------------------------- the comparison

@dataclass
class VocodedUtterance:
    vocoder: str
    utterance: str
    seconds: float            # audio length
    wall_seconds: float       # vocoding time (mel analysis excluded)
    mel_l1: float             # mean |log-mel(vocoded) − log-mel(original)|, nats
    mcd_db: float             # mel cepstral distortion, dB

    @property
    def real_time_factor(self) -> float:
        return self.seconds / self.wall_seconds


def mel_cepstral_distortion(mel: torch.Tensor, reference: torch.Tensor, coefficients: int = 24) -> float:
    """Mean over frames of (10 / ln 10) · sqrt(2 Σ_{d=1..D} (c_d − ĉ_d)²), c = orthonormal DCT-II of natural-log mels."""
    import torchaudio.functional as AF
    n_mels = mel.shape[-2]
    dct = AF.create_dct(min(coefficients + 1, n_mels), n_mels, "ortho")        # (n_mels, D + 1)
    c, c_ref = (m.transpose(-1, -2) @ dct for m in (mel.float(), reference.float()))   # (frames, D + 1)
    distance = (c[..., 1:] - c_ref[..., 1:]).pow(2).sum(-1).mul(2).sqrt()
    return float(10 / math.log(10) * distance.mean())


def compare_vocoders(vocoders: dict[str, object], utterances: list[tuple[str, np.ndarray]], *,
                     out_dir: str | Path | None = None, seed: int = 0,
                     progress: Callable[[str, str], None] | None = None) -> list[VocodedUtterance]:
    """Vocode every utterance (name, mono audio at the vocoders' rate) from its own log-mels with every vocoder.

    The vocoders must share their features (rate, FFT, hop, mel bands and range).
    With ``out_dir``, each result is written to ``out_dir/<vocoder>/<utterance>.wav``.
    ``progress(vocoder, utterance)`` is told before each one.
    """
    specs = {name: vocoder_features(model) for name, model in vocoders.items()}
    first_name, spec = next(iter(specs.items()))
    for name, other in specs.items():
        if other != spec:
            raise WavegenError(f"the vocoders use different features: {first_name} {spec} but {name} {other}")
    if not utterances:
        raise WavegenError("no utterances to compare the vocoders on")
    results = []
    for name, model in vocoders.items():
        warm_up = log_mel(torch.as_tensor(utterances[0][1][:32 * spec.hop], dtype=torch.float32), spec)
        vocode_mel(model, warm_up, seed=seed)                     # allocator, oneDNN primitives, kernel set-up
        for utterance, audio in utterances:
            if progress is not None:
                progress(name, utterance)
            original = torch.as_tensor(audio, dtype=torch.float32)
            mel = log_mel(original, spec)
            start = time.perf_counter()
            vocoded = vocode_mel(model, mel, seed=seed)
            wall = time.perf_counter() - start
            vocoded = vocoded[:original.shape[0]]
            vocoded_mel = log_mel(vocoded, spec)
            results.append(VocodedUtterance(name, utterance, original.shape[0] / spec.sample_rate, wall,
                                            float((vocoded_mel - mel).abs().mean()),
                                            mel_cepstral_distortion(vocoded_mel, mel)))
            if out_dir is not None:
                write_audio(Path(out_dir) / name / f"{Path(utterance).name}.wav", vocoded.numpy(), spec.sample_rate)
    return results


def summarise(results: list[VocodedUtterance]) -> dict[str, dict[str, float]]:
    """Per vocoder: utterances, seconds of audio, real-time factor (total audio / total time), mean mel L1 and MCD."""
    summary: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(r.vocoder for r in results):
        mine = [r for r in results if r.vocoder == name]
        seconds = sum(r.seconds for r in mine)
        summary[name] = {"utterances": len(mine), "seconds": seconds,
                         "real_time_factor": seconds / sum(r.wall_seconds for r in mine),
                         "mel_l1": sum(r.mel_l1 for r in mine) / len(mine),
                         "mcd_db": sum(r.mcd_db for r in mine) / len(mine)}
    return summary


def comparison_table(results: list[VocodedUtterance], device: str = "cpu") -> str:
    """The report: one row per vocoder, means over the utterances."""
    summary = summarise(results)
    width = max(len("vocoder"), *(len(name) for name in summary))
    lines = [f"{'vocoder':<{width}}  utterances  audio (s)  x real time  mel L1 (nats)  MCD (dB)"]
    for name, s in summary.items():
        lines.append(f"{name:<{width}}  {s['utterances']:10d}  {s['seconds']:9.1f}  {s['real_time_factor']:11.2f}"
                     f"  {s['mel_l1']:13.3f}  {s['mcd_db']:8.2f}")
    if device == "cpu":
        threads = torch.get_num_threads()
        device = f"cpu, {threads} thread{'s' if threads > 1 else ''}"
    lines.append(f"(x real time: seconds of audio vocoded per second on {device}; distances to the originals' log-mels)")
    return "\n".join(lines)
