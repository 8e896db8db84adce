"""The GAN vocoder: output length, discriminators, training, checkpoints, `wavegen vocode`/`sample`, the demo recipe."""

import math

import numpy as np
import pytest
import soundfile as sf
import torch

import wavegen
from tests.support import wavegen_cli
from wavegen.audio.hifigan.discriminators import SCALE_LAYERS
from wavegen.audio.vocode import (SampleRequest, compare_vocoders, comparison_table, mel_cepstral_distortion,
                                          vocode_file, write_samples)
from wavegen.audio.hifigan.model import VOCODER_CONFIGS, HiFiGAN
from wavegen.audio.hifigan.train import VocoderTask
from wavegen.core.checkpoint import save_checkpoint
from wavegen.errors import AudioFileError, WavegenError

RATE = 22050
# Tiny models gain nothing from a second thread, and on a shared, busy CPU two OpenMP threads
# waiting on each other make each small op ~100x slower: these tests run on one.
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def cli(*args, cwd):
    return wavegen_cli(*args, cwd=cwd, env=ONE_THREAD)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return HiFiGAN(**VOCODER_CONFIGS["tiny"]).eval()


@pytest.fixture(scope="module")
def checkpoint(tiny, tmp_path_factory):
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "vocoder.safetensors", tiny)


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """A voiced sound: harmonics of a gliding pitch under a syllable-rate envelope, plus a little noise."""
    t = np.arange(round(seconds * RATE)) / RATE
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    noise = np.random.default_rng(seed).standard_normal(len(t))
    return (0.1 * envelope * voiced + 0.003 * noise).astype(np.float32)


@pytest.mark.parametrize("frames", [1, 2, 7, 33])
def test_output_is_exactly_frames_times_hop(tiny, frames):
    mel = torch.randn(80, frames) - 5
    audio = tiny.vocode(mel)
    assert audio.shape == (frames * 256,)
    assert audio.abs().max() <= 1
    assert tiny.vocode(mel.expand(3, -1, -1)).shape == (3, frames * 256)
    assert tiny.generator(mel[None]).shape == (1, 1, frames * 256)


@pytest.mark.parametrize("rates, hop", [([4, 4], 16), ([3, 5], 15), ([2, 3, 2], 12)])
def test_any_rates_whose_product_is_the_hop_give_frames_times_hop(rates, hop):
    model = HiFiGAN(**{**VOCODER_CONFIGS["tiny"], "upsample_rates": rates}, hop=hop, n_fft=64, n_mels=8,
                       sample_rate=8000, fmax=4000.0)
    for frames in (1, 5):
        assert model.vocode(torch.randn(8, frames)).shape == (frames * hop,)
    audio = torch.randn(2, 100)
    assert model.mel_frames(audio).shape == (2, 8, math.ceil(100 / hop))


def test_refuses_rates_whose_product_is_not_the_hop():
    with pytest.raises(ValueError, match=r"multiply to 128, but each mel frame stands for hop=256"):
        HiFiGAN(upsample_rates=[8, 8, 2])
    with pytest.raises(ValueError, match="rates of at least 2"):
        HiFiGAN(upsample_rates=[256, 1])
    with pytest.raises(ValueError, match="resblock must be"):
        HiFiGAN(resblock="3")


def test_paper_generators_have_the_papers_sizes():
    with torch.device("meta"):
        sizes = {name: sum(p.numel() for p in HiFiGAN(**VOCODER_CONFIGS[name]).generator.parameters())
                 for name in ("v1", "v2", "v3")}
    # Kong et al. 2020, table 1: 13.92 M, 0.92 M, 1.46 M parameters.
    assert sizes["v1"] == pytest.approx(13.92e6, rel=0.005)
    assert sizes["v2"] == pytest.approx(0.92e6, rel=0.02)
    assert sizes["v3"] == pytest.approx(1.46e6, rel=0.005)


def test_discriminators_give_logits_and_features_per_sub_discriminator(tiny):
    x = torch.randn(3, 1, 2048) * 0.1
    logits, features = tiny.discriminator(x)
    periods, scales = VOCODER_CONFIGS["tiny"]["mpd_periods"], VOCODER_CONFIGS["tiny"]["msd_scales"]
    assert len(logits) == len(features) == len(periods) + scales
    for score, maps in zip(logits[:len(periods)], features[:len(periods)]):
        assert score.shape[0] == 3 and score.dim() == 2
        assert len(maps) == len(VOCODER_CONFIGS["tiny"]["mpd_channels"]) + 1
        assert all(m.dim() == 4 and m.shape[0] == 3 for m in maps)           # (B, C, T/p, p)
    for score, maps in zip(logits[len(periods):], features[len(periods):]):
        assert score.shape[0] == 3 and len(maps) == len(SCALE_LAYERS) + 1
    # MSD scale k sees audio average-pooled 2^k times; an example's scores do not depend on its batch-mates.
    assert logits[len(periods) + 1].shape[1] < logits[len(periods)].shape[1]
    alone, _ = tiny.discriminator(x[:1])
    assert all(torch.allclose(a, b[:1], atol=1e-5) for a, b in zip(alone, logits))


def test_training_steps_lower_the_mel_loss_on_a_toy_batch():
    torch.manual_seed(0)
    model = HiFiGAN(**VOCODER_CONFIGS["tiny"])
    task = VocoderTask(model, lr=2e-3, lr_decay=0.5, lr_decay_steps=100)
    batch = (torch.from_numpy(np.stack([speech_like(0.1, 0)[:2048], speech_like(0.2, 1)[1000:3048]])),
             torch.zeros(2, dtype=torch.long))
    logs = [task.train_step(batch, step) for step in range(12)]
    assert {"d_loss", "g_adv", "g_loss", "fm", "mel", "d_real", "d_fake"} <= logs[0].keys()
    assert all(math.isfinite(v) for log in logs for v in log.values())
    assert logs[0]["g_loss"] == pytest.approx(2 * logs[0]["g_adv"] + logs[0]["fm"] + logs[0]["mel"], rel=1e-5)
    assert np.mean([log["mel"] for log in logs[-3:]]) < 0.9 * logs[0]["mel"]
    assert task.learning_rate(99) == 2e-3 and task.learning_rate(250) == pytest.approx(5e-4)


def test_checkpoint_round_trip_and_weight_norm_removal(tiny, checkpoint):
    loaded = wavegen.load(checkpoint)
    assert isinstance(loaded, HiFiGAN) and loaded.config == tiny.config and loaded.sample_rate == RATE
    mel = torch.randn(80, 9) - 4
    assert torch.equal(loaded.vocode(mel), tiny.vocode(mel))
    loaded.remove_weight_norm()
    assert torch.allclose(loaded.vocode(mel), tiny.vocode(mel), atol=1e-6)


def test_vocode_command_on_a_wav_and_a_npy(checkpoint, tmp_path):
    source = tmp_path / "speech.wav"
    sf.write(str(source), speech_like(0.3), RATE)
    mel = HiFiGAN(**VOCODER_CONFIGS["tiny"]).mel_frames(torch.from_numpy(speech_like(0.3)))
    np.save(tmp_path / "mel.npy", mel.numpy()[None])                  # (1, n_mels, frames) is taken too
    for given, output, length in [(source, "out.wav", len(speech_like(0.3))), (tmp_path / "mel.npy", "npy.flac",
                                                                             mel.shape[1] * 256)]:
        result = cli("vocode", "-c", str(checkpoint), str(given), "-o", str(tmp_path / output),
                             "--device", "cpu", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        audio, rate = sf.read(str(tmp_path / output))
        assert rate == RATE and len(audio) == length
    again = cli("vocode", "-c", str(checkpoint), str(source), "-o", str(tmp_path / "out.wav"), cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr and "--overwrite" in again.stderr
    np.save(tmp_path / "bad.npy", np.zeros((40, 12), dtype=np.float32))
    bad = cli("vocode", "-c", str(checkpoint), str(tmp_path / "bad.npy"), "-o", str(tmp_path / "bad.wav"),
                      cwd=tmp_path)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "bad.npy" in bad.stderr and "has shape (40, 12)" in bad.stderr and "(80, frames)" in bad.stderr
    assert not (tmp_path / "bad.wav").exists()


@pytest.mark.parametrize("array, message", [
    (np.zeros((12, 80), np.float32), "transposed"),
    (np.zeros((2, 80, 12), np.float32), "has shape (2, 80, 12)"),
    (np.zeros(80, np.float32), "has shape (80,)"),
    (np.zeros((80, 0), np.float32), "holds no frames"),
    (np.full((80, 3), np.nan, np.float32), "NaN"),
    (np.zeros((80, 3), np.complex64), "complex64"),
    (np.array([{"a": 1}], dtype=object), "Python objects"),
    (b"not numpy at all", "not a readable .npy"),
])
def test_bad_npy_inputs_are_one_clear_error_and_write_nothing(tiny, tmp_path, array, message):
    path = tmp_path / "mel.npy"
    if isinstance(array, bytes):
        path.write_bytes(array)
    else:
        np.save(path, array, allow_pickle=True)
    with pytest.raises(AudioFileError, match="mel.npy") as error:
        vocode_file(tiny, path, tmp_path / "out.wav")
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "out.wav").exists()


def test_vocode_file_refuses_other_rates_its_input_and_unknown_formats(tiny, tmp_path):
    at16k = tmp_path / "at16k.wav"
    sf.write(str(at16k), np.zeros(1600), 16000)
    with pytest.raises(AudioFileError, match="is at 16000 Hz but this vocoder works at 22050 Hz"):
        vocode_file(tiny, at16k, tmp_path / "out.wav")
    with pytest.raises(WavegenError, match="is the input file"):
        vocode_file(tiny, at16k, at16k, overwrite=True)
    with pytest.raises(WavegenError, match="unsupported output format"):
        vocode_file(tiny, at16k, tmp_path / "out.mp3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["at16k.wav"]


def test_sample_command_vocodes_mel_from_and_refuses_what_does_not_apply(checkpoint, tiny, tmp_path):
    source = tmp_path / "speech.wav"
    sf.write(str(source), speech_like(0.25), RATE)
    result = cli("sample", "-c", str(checkpoint), "-o", str(tmp_path / "out"), "--mel-from", str(source),
                         cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    audio, rate = sf.read(str(tmp_path / "out" / "speech-vocoded.wav"))
    assert rate == RATE and len(audio) == len(speech_like(0.25))
    assert (tmp_path / "out" / "speech-vocoded.png").read_bytes()[:4] == b"\x89PNG"
    short = write_samples(tiny, tmp_path / "short", SampleRequest(mel_from=source, seconds=0.1))
    assert len(sf.read(str(short[0]))[0]) == round(0.1 * RATE)
    for request, message in [(SampleRequest(), "give --mel-from"),
                             (SampleRequest(mel_from=source, speaker="p1"), "--speaker"),
                             (SampleRequest(mel_from=source, temperature=0.5), "--temperature"),
                             (SampleRequest(mel_from=source, path="cached"), "--path"),
                             (SampleRequest(mel_from=source, count=2), "-n"),
                             (SampleRequest(mel_from=source, seconds=9.0), "lasts only")]:
        with pytest.raises(WavegenError, match=message):
            write_samples(tiny, tmp_path / "refused", request)
    assert not (tmp_path / "refused").exists()


def test_compare_reports_speed_and_distances_for_each_vocoder(tiny):
    utterances = [("a", speech_like(0.4, 0)), ("b", speech_like(0.3, 1))]
    results = compare_vocoders({"tiny": tiny, "again": tiny}, utterances)
    assert [(r.vocoder, r.utterance) for r in results] == [("tiny", "a"), ("tiny", "b"), ("again", "a"),
                                                           ("again", "b")]
    assert all(r.real_time_factor > 0 and r.mel_l1 > 0 and r.mcd_db > 0 for r in results)
    assert results[0].mel_l1 == pytest.approx(results[2].mel_l1)               # deterministic
    table = comparison_table(results)
    assert "x real time" in table and "MCD (dB)" in table and table.count("\n") == 3
    mel = torch.randn(80, 20)
    assert mel_cepstral_distortion(mel, mel) == 0.0
    assert mel_cepstral_distortion(mel + 1.0, mel) == pytest.approx(0.0, abs=1e-4)   # a level shift is c0 only


def test_demo_recipe_trains_compares_with_wavenet_and_writes_samples(tmp_path):
    from wavegen.audio.wavenet import WAVENET_CONFIGS, WaveNet
    torch.manual_seed(0)
    wavenet = WaveNet(**WAVENET_CONFIGS["tiny"], mel_channels=80, upsample_scales=[16, 16], n_fft=1024,
                      fmax=8000.0, sample_rate=RATE)
    wavenet_path = save_checkpoint(tmp_path / "wavenet.safetensors", wavenet)
    exp = tmp_path / "exp"
    tiny = [arg for key, value in VOCODER_CONFIGS["tiny"].items()
            for arg in ("--set", f"model.{key}={value if not isinstance(value, str) else value}")]
    args = ["recipe", "hifigan", "--data", "demo", "--exp-dir", str(exp), "--max-steps", "2", *tiny,
            "--set", "corpus.utterances=5", "--set", "data.test_utterances=2", "--set", "train.batch_size=2",
            "--set", "train.segment_samples=1024", "--set", "train.validation_crops=2", "--set", "train.eval_every=1",
            "--set", "compare.utterances=2", "--set", "samples.utterances=1",
            "--set", f"compare.wavenet={wavenet_path}"]
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hifigan" in result.stdout and "wavenet" in result.stdout and "x real time" in result.stdout
    assert (exp / "results.txt").read_text().splitlines()[0].startswith("vocoder")
    model = wavegen.load(exp / "model.safetensors")
    assert isinstance(model, HiFiGAN) and model.config["upsample_initial_channel"] == 16
    assert "val_mel_l1" in (exp / "logs" / "eval.csv").read_text()
    samples = sorted(p.name for p in (exp / "samples").iterdir())
    assert len(samples) == 3 and {s.split("-", 2)[-1] for s in samples} == {"original.wav", "hifigan.wav",
                                                                              "wavenet.wav"}
    lengths = {len(sf.read(str(exp / "samples" / s))[0]) for s in samples}
    assert len(lengths) == 1                                             # every copy has the original's length
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp", "wavenet.safetensors"]
    refused = cli(*args[:-2], "--set", f"compare.wavenet={tmp_path / 'nope.safetensors'}", cwd=tmp_path)
    assert refused.returncode == 1 and "no such checkpoint file" in refused.stderr


def test_long_inputs_vocoded_in_chunks_equal_one_call():
    torch.manual_seed(0)
    model = HiFiGAN(**{**VOCODER_CONFIGS["v3"], "upsample_initial_channel": 16}).eval()   # V3's receptive field
    mel = torch.randn(2, 80, 150) - 5
    whole = model.vocode(mel, chunk_frames=150)
    chunked = model.vocode(mel, chunk_frames=40)
    assert chunked.shape == whole.shape == (2, 150 * 256)
    assert torch.allclose(chunked, whole, atol=1e-5)


# ---------------------------------------------------------------- odd input to `wavegen vocode` and `sample --mel-from`

def test_an_audio_classifier_is_not_a_vocoder_and_says_so_in_one_line(tmp_path):
    """`wavegen vocode` took a classifier (it has a mel front end) and died with an AttributeError."""
    from wavegen.audio.capabilities import Vocoder
    from wavegen.audio.classifier import AudioClassifier
    from wavegen.models import load_for
    classifier = AudioClassifier(labels=["yes", "no"], channels=[4, 4], embedding=8)
    assert classifier.mel is not None and not Vocoder.offered_by(classifier)
    path = save_checkpoint(tmp_path / "classifier.safetensors", classifier)
    with pytest.raises(WavegenError) as refused:
        load_for(path, Vocoder)
    assert str(refused.value) == f"{path}: an audio_classifier checkpoint cannot vocode; it can classify"
    source = tmp_path / "speech.wav"
    sf.write(str(source), speech_like(0.2), 16000)
    for call in (lambda: vocode_file(classifier, source, tmp_path / "out.wav"),
                 lambda: write_samples(classifier, tmp_path / "out", SampleRequest(mel_from=source))):
        with pytest.raises(WavegenError, match="an audio_classifier checkpoint cannot vocode; it can classify"):
            call()
    run = cli("vocode", "-c", str(path), str(source), "-o", str(tmp_path / "out.wav"), cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.strip() == f"error: {path}: an audio_classifier checkpoint cannot vocode; it can classify"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classifier.safetensors", "speech.wav"]


def test_sample_mel_from_refuses_to_replace_either_file_and_a_folder_in_the_way(tiny, tmp_path):
    source = tmp_path / "speech.wav"
    sf.write(str(source), speech_like(0.1), RATE)
    out = tmp_path / "out"
    out.mkdir()
    (out / "speech-vocoded.png").write_bytes(b"my picture")
    with pytest.raises(WavegenError) as refused:
        write_samples(tiny, out, SampleRequest(mel_from=source))
    assert str(refused.value) == (f"{out / 'speech-vocoded.png'} already exists (1 of 2 files); use --overwrite to "
                                  "replace, or another -o folder")
    assert sorted(p.name for p in out.iterdir()) == ["speech-vocoded.png"]
    (out / "speech-vocoded.png").unlink()
    (out / "speech-vocoded.png").mkdir()
    with pytest.raises(WavegenError, match="a folder is in the way"):
        write_samples(tiny, out, SampleRequest(mel_from=source, overwrite=True))
    for request, message in [(SampleRequest(mel_from=source, count=0), "-n must be at least 1, got 0"),
                             (SampleRequest(mel_from=source, temperature=float("inf")), "--temperature must be a "
                                                                                         "positive number, got inf")]:
        with pytest.raises(WavegenError, match=message):
            write_samples(tiny, tmp_path / "none", request)
    assert not (tmp_path / "none").exists()


def test_vocode_refuses_to_replace_an_output_and_a_folder_in_the_way(tiny, tmp_path):
    source = tmp_path / "speech.wav"
    sf.write(str(source), speech_like(0.1), RATE)
    (tmp_path / "out.wav").write_bytes(b"mine")
    with pytest.raises(WavegenError) as refused:
        vocode_file(tiny, source, tmp_path / "out.wav")
    assert str(refused.value) == f"{tmp_path / 'out.wav'} already exists; use --overwrite to replace it"
    assert (tmp_path / "out.wav").read_bytes() == b"mine"
    (tmp_path / "folder.wav").mkdir()
    with pytest.raises(WavegenError, match="is a folder"):
        vocode_file(tiny, source, tmp_path / "folder.wav", overwrite=True)
    assert vocode_file(tiny, source, tmp_path / "out.wav", overwrite=True).read_bytes() != b"mine"
