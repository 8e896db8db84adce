"""Enhancing users' files: formats, rates, channels, lengths, streaming, bad input, paths."""

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.speech_signals import read_wav as read
from tests.speech_signals import write_wav as write
from wavegen.audio.enhance import EnhanceResult, enhance_file, enhance_files, enhance_waveform
from wavegen.audio.segan import SEGAN
from wavegen.errors import AudioFileError, WavegenError


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SEGAN.from_name("tiny")


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_output_keeps_rate_channels_and_length(model, tmp_path, rate):
    src = write(tmp_path / "in.wav", 0.77, rate)
    out = enhance_file(model, src, tmp_path / "out" / "in.wav")
    audio, out_rate = read(out)
    info, out_info = sf.info(src), sf.info(out)
    assert out_rate == rate and audio.shape == (info.frames, 1)
    assert out_info.subtype == info.subtype and np.isfinite(audio).all()


def test_channels_are_enhanced_independently(model, tmp_path):
    stereo = write(tmp_path / "stereo.flac", 0.6, 44100, channels=2)
    left = write(tmp_path / "left.flac", 0.6, 44100, signal=read(stereo)[0][:, :1])
    # In float32: bfloat16 convolutions round differently for different batch shapes.
    out_stereo = read(enhance_file(model, stereo, tmp_path / "out" / "stereo.flac", precision="float32"))[0]
    out_left = read(enhance_file(model, left, tmp_path / "out" / "left.flac", precision="float32"))[0]
    assert out_stereo.shape == (sf.info(stereo).frames, 2)
    np.testing.assert_allclose(out_stereo[:, :1], out_left, atol=2 / 2 ** 15)


def test_very_short_file(model, tmp_path):
    src = write(tmp_path / "short.wav", 0.1, 22050, channels=3)
    audio, rate = read(enhance_file(model, src, tmp_path / "out.wav"))
    assert rate == 22050 and audio.shape == (2205, 3)


def test_long_file_streams_without_seams(model, tmp_path):
    # Two minutes at 8 kHz through 7.3-second blocks must equal a single block: block edges
    # fall mid-window and mid-resampler, so any seam would show up as a difference.
    src = write(tmp_path / "long.wav", 120.0, 8000, subtype="FLOAT")
    streamed = enhance_file(model, src, tmp_path / "streamed.wav", block_seconds=7.3, batch_size=256,
                            precision="float32")
    whole = enhance_file(model, src, tmp_path / "whole.wav", block_seconds=1e6, batch_size=256, precision="float32")
    a, b = read(streamed)[0], read(whole)[0]
    assert a.shape == b.shape == (960_000, 1)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_deterministic_for_a_seed(model, tmp_path):
    src = write(tmp_path / "in.wav", 0.5, 16000, subtype="FLOAT")
    a = read(enhance_file(model, src, tmp_path / "a.wav", seed=3))[0]
    b = read(enhance_file(model, src, tmp_path / "b.wav", seed=3))[0]
    c = read(enhance_file(model, src, tmp_path / "c.wav", seed=4))[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_in_memory_enhancement_is_what_the_file_gets(model, tmp_path):
    # Training's validation scores enhance_waveform's output: it must be what `wavegen enhance` writes.
    src = write(tmp_path / "in.wav", 0.9, 22050, channels=2, subtype="FLOAT")
    written = read(enhance_file(model, src, tmp_path / "out.wav", seed=5))[0]
    audio = read(src)[0].T
    in_memory = enhance_waveform(model, audio, 22050, seed=5).numpy()
    assert in_memory.shape == audio.shape
    np.testing.assert_allclose(in_memory.T, written, rtol=1e-5, atol=1e-6)
    # A 1-D input is one channel (compared in float32: bfloat16 rounds differently for another batch shape).
    stereo = enhance_waveform(model, audio, 22050, seed=5, precision="float32").numpy()
    mono = enhance_waveform(model, audio[0], 22050, seed=5, precision="float32").numpy()
    assert mono.shape == audio[0].shape
    np.testing.assert_allclose(mono, stereo[0], atol=1e-6)


def test_silent_and_clipped_input(model, tmp_path):
    rate = 16000
    silent = write(tmp_path / "silent.wav", 1.0, rate, signal=np.zeros(rate))
    t = np.arange(rate) / rate
    clipped = write(tmp_path / "clipped.wav", 1.0, rate, signal=np.clip(3 * np.sin(2 * np.pi * 200 * t), -1, 1))
    for src in (silent, clipped):
        audio, _ = read(enhance_file(model, src, tmp_path / "out" / src.name))
        assert audio.shape == (rate, 1) and np.isfinite(audio).all() and np.abs(audio).max() <= 1.0


def bad_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.wav"
    empty.write_bytes(b"")
    corrupt = folder / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    text = folder / "notes.flac"
    text.write_text("these are not the samples you are looking for\n")
    return [empty, corrupt, text]


def test_bad_files_raise_a_one_line_error_naming_them(model, tmp_path):
    for bad in bad_files(tmp_path / "in"):
        out_dir = tmp_path / "out"
        with pytest.raises(AudioFileError) as info:
            enhance_file(model, bad, out_dir / bad.name)
        message = str(info.value)
        assert bad.name in message and "\n" not in message
        assert not out_dir.exists() or list(out_dir.iterdir()) == []   # no output, no temp file


def test_enhance_files_processes_the_good_ones_and_reports_the_bad(model, tmp_path):
    good = write(tmp_path / "in" / "good.wav", 0.3, 16000)
    bad = bad_files(tmp_path / "in")
    missing = tmp_path / "in" / "missing.wav"
    results = enhance_files(model, [bad[0], good, *bad[1:], missing], tmp_path / "out")
    assert [r.input for r in results] == [bad[0], good, *bad[1:], missing]
    assert all(isinstance(r, EnhanceResult) for r in results)
    by_input = {r.input: r for r in results}
    assert by_input[good].ok and by_input[good].output == tmp_path / "out" / "good.wav"
    for path in [*bad, missing]:
        assert isinstance(by_input[path].error, AudioFileError) and by_input[path].output is None
        assert path.name in str(by_input[path].error)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.wav"]


def test_refuses_to_overwrite_an_input(model, tmp_path):
    src = write(tmp_path / "in" / "a.wav", 0.2, 16000)
    before = src.read_bytes()
    with pytest.raises(WavegenError, match="overwrite"):
        enhance_file(model, src, tmp_path / "in" / ".." / "in" / "a.wav")
    with pytest.raises(WavegenError, match="overwrite"):
        enhance_files(model, [tmp_path / "in"], tmp_path / "in")
    assert src.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["a.wav"]


def test_two_inputs_with_one_output_name_are_refused(model, tmp_path):
    a = write(tmp_path / "x" / "same.wav", 0.2, 16000)
    b = write(tmp_path / "y" / "same.wav", 0.2, 16000)
    with pytest.raises(WavegenError, match="same output"):
        enhance_files(model, [a, b], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_folders_keep_relative_paths_and_formats(model, tmp_path):
    root = tmp_path / "recordings"
    write(root / "a.wav", 0.25, 16000)
    write(root / "day1" / "b.flac", 0.3, 48000, channels=2)
    write(root / "day1" / "deep" / "c.ogg", 0.4, 44100)
    single = write(tmp_path / "elsewhere" / "d.wav", 0.2, 8000)
    (root / "readme.txt").write_text("ignored: not audio by suffix")
    seen = []
    results = enhance_files(model, [root, single], tmp_path / "out", progress=lambda d, t: seen.append((d, t)))
    assert all(r.ok for r in results)
    outputs = sorted(str(r.output.relative_to(tmp_path / "out")) for r in results)
    assert outputs == ["a.wav", "d.wav", "day1/b.flac", "day1/deep/c.ogg"]
    for r in results:
        src, out = sf.info(r.input), sf.info(r.output)
        assert (out.format, out.samplerate, out.channels, out.frames) == \
            (src.format, src.samplerate, src.channels, src.frames)
    done = [d for d, _ in seen]
    assert done == sorted(done) and seen[-1][0] == pytest.approx(seen[-1][1])


def test_an_mp3_named_wav_gets_an_encoding_wav_can_hold_and_the_batch_goes_on(model, tmp_path):
    mp3 = tmp_path / "in" / "actually_mp3.wav"
    mp3.parent.mkdir(parents=True)
    t = np.arange(16000) / 16000
    sf.write(str(tmp_path / "real.mp3"), 0.3 * np.sin(2 * np.pi * 220 * t), 16000, format="MP3")
    mp3.write_bytes((tmp_path / "real.mp3").read_bytes())
    good = write(tmp_path / "in" / "good.flac", 0.3, 16000)
    explicit = tmp_path / "real.mp3"
    results = enhance_files(model, [mp3, good, explicit], tmp_path / "out")
    assert [r.ok for r in results] == [True, True, True], [str(r.error) for r in results]
    out = sf.info(str(tmp_path / "out" / "actually_mp3.wav"))
    assert (out.format, out.subtype, out.samplerate) == ("WAV", "PCM_16", 16000)
    assert out.frames == sf.info(str(mp3)).frames
    assert results[2].output == tmp_path / "out" / "real.mp3.wav"      # a format we do not write: .wav


def test_output_folder_that_is_a_file_is_refused_before_any_work(model, tmp_path):
    src = write(tmp_path / "in" / "a.wav", 0.2, 16000)
    before = src.read_bytes()
    with pytest.raises(WavegenError, match="is a file, not a folder"):
        enhance_files(model, [tmp_path / "in"], src)
    assert src.read_bytes() == before and sorted(p.name for p in (tmp_path / "in").iterdir()) == ["a.wav"]


def test_existing_outputs_are_replaced_only_with_overwrite(model, tmp_path):
    src = write(tmp_path / "in" / "a.wav", 0.2, 16000)
    other = write(tmp_path / "in" / "b.wav", 0.2, 16000)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b.wav").write_bytes(b"my earlier result")
    with pytest.raises(WavegenError, match="b.wav already exists.*--overwrite"):
        enhance_files(model, [src, other], tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.wav"]      # nothing done at all
    with pytest.raises(WavegenError, match="already exists"):
        enhance_file(model, other, tmp_path / "out" / "b.wav")
    assert all(r.ok for r in enhance_files(model, [src, other], tmp_path / "out", overwrite=True))
    assert sf.info(str(tmp_path / "out" / "b.wav")).frames == 3200


def test_a_model_that_does_not_enhance_gets_a_clear_error(tmp_path):
    from wavegen.audio.wavenet import WAVENET_CONFIGS, WaveNet
    src = write(tmp_path / "a.wav", 0.2, 16000)
    wavenet = WaveNet(**WAVENET_CONFIGS["tiny"])
    for call in (lambda: enhance_file(wavenet, src, tmp_path / "out.wav"),
                 lambda: enhance_files(wavenet, [src], tmp_path / "out")):
        with pytest.raises(WavegenError, match="wavenet checkpoint cannot enhance"):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]


def test_enhance_command_bad_paths_are_one_line_and_cost_nothing(model, tmp_path):
    from tests.support import wavegen_cli
    from wavegen.core.checkpoint import save_checkpoint
    checkpoint = save_checkpoint(tmp_path / "segan.safetensors", model)
    src = write(tmp_path / "in" / "a.wav", 0.2, 16000)
    before = src.read_bytes()
    for output in (src, tmp_path / "in"):
        run = wavegen_cli("enhance", "-c", str(checkpoint), str(tmp_path / "in"), "-o", str(output), cwd=tmp_path)
        assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "Traceback" not in run.stderr
    assert src.read_bytes() == before and sorted(p.name for p in (tmp_path / "in").iterdir()) == ["a.wav"]
    ok = wavegen_cli("enhance", "-c", str(checkpoint), str(src), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    again = wavegen_cli("enhance", "-c", str(checkpoint), str(src), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert again.returncode == 1 and "--overwrite" in again.stderr


def test_files_enhanced_together_are_what_each_gets_alone(model, tmp_path):
    # enhance_files batches the windows of several short files into one generator call.
    folder = tmp_path / "in"
    names = [f"u{i}.wav" for i in range(5)]
    for i, name in enumerate(names):
        write(folder / name, 0.2 + 0.15 * i, 16000, channels=1 + i % 2, seed=i, subtype="FLOAT")
    results = enhance_files(model, [folder], tmp_path / "together", batch_size=64, precision="float32")
    assert all(r.ok for r in results)
    for name in names:
        alone = enhance_file(model, folder / name, tmp_path / "alone" / name, precision="float32")
        np.testing.assert_allclose(read(tmp_path / "together" / name)[0], read(alone)[0], atol=1e-6)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_an_attenuation_limit_mixes_that_share_of_the_input_back(tmp_path, precision):
    torch.manual_seed(0)
    net = SEGAN.from_name("tiny", residual=True)
    with torch.no_grad():                      # a generator that removes much of its input
        net.generator.decoder[-1].deconv.bias.fill_(-0.5)
        for p in net.generator.parameters():
            p.add_(0.05 * torch.randn_like(p))
    t = np.arange(16000) / 16000
    tone = 0.3 * np.sin(2 * np.pi * 2000 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    audio = (tone + 0.05 * np.random.default_rng(0).standard_normal(t.shape)).astype(np.float32)
    alone = enhance_waveform(net, audio, 16000, precision=precision).numpy()
    net.attenuation_limit_db = 6.0
    limited = enhance_waveform(net, audio, 16000, precision=precision).numpy()
    m = 10 ** (-6 / 20)
    # (1 - m) G(x) + m x in every window; the joins and filters are linear, so the file gets the same mix
    # (the input through the 20 Hz DC blocker, which leaves this 2 kHz tone nearly as it is).
    residual = limited - (1 - m) * alone - m * audio
    assert 10 * np.log10(np.sum(residual ** 2) / np.sum((m * audio) ** 2)) < -30
    assert np.sum((limited - audio) ** 2) < np.sum((alone - audio) ** 2) / 3      # closer to the input
    net.attenuation_limit_db = None
    np.testing.assert_array_equal(enhance_waveform(net, audio, 16000, precision=precision).numpy(), alone)


def test_enhance_command_uses_the_checkpoints_attenuation_limit_unless_told(tmp_path):
    from tests.support import wavegen_cli
    from wavegen.core.checkpoint import save_checkpoint
    torch.manual_seed(0)
    net = SEGAN.from_name("tiny", residual=True)
    with torch.no_grad():
        net.generator.decoder[-1].deconv.bias.fill_(-0.3)
    audio = (0.05 * np.random.default_rng(0).standard_normal(8000)).astype(np.float32)
    src = write(tmp_path / "in.wav", 0.5, 16000, subtype="FLOAT", signal=audio)
    net.attenuation_limit_db = 6.0
    checkpoint = save_checkpoint(tmp_path / "segan.safetensors", net)
    before = checkpoint.read_bytes()
    outputs = {}
    for setting in (None, "6", "none", "12"):
        out = tmp_path / f"out-{setting}"
        run = wavegen_cli("enhance", "-c", str(checkpoint), str(src), "-o", str(out), "--precision", "float32",
                          *(["--attenuation-limit", setting] if setting else []), cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        outputs[setting] = read(out / "in.wav")[0][:, 0]
    np.testing.assert_array_equal(outputs[None], outputs["6"])          # the checkpoint's own limit
    net.attenuation_limit_db = None
    np.testing.assert_allclose(outputs["none"], enhance_waveform(net, audio, 16000, precision="float32").numpy(),
                               atol=1e-6)
    assert not np.allclose(outputs["12"], outputs["6"], atol=1e-4)
    assert checkpoint.read_bytes() == before                             # never written back
    bad = wavegen_cli("enhance", "-c", str(checkpoint), str(src), "-o", str(tmp_path / "bad"),
                      "--attenuation-limit", "-3", cwd=tmp_path)
    assert bad.returncode == 2 and "expected a positive number of dB or 'none', got '-3'" in bad.stderr
    assert not (tmp_path / "bad").exists()


# ---------------------------------------------------------------- the Python API against odd arguments

@pytest.mark.parametrize("as_given", [str, lambda p: p], ids=["str", "Path"])
def test_enhance_files_takes_one_folder_or_file_as_well_as_a_list(model, tmp_path, as_given):
    """wavegen.enhance_files(model, "noisy_dir", "out") iterated the string character by character."""
    import wavegen
    folder = tmp_path / "noisy_dir"
    write(folder / "a.wav", 0.2, 16000)
    write(folder / "sub" / "b.wav", 0.2, 16000)
    results = wavegen.enhance_files(model, as_given(folder), as_given(tmp_path / "out"))
    assert all(r.ok for r in results)
    assert sorted(str(r.output.relative_to(tmp_path / "out")) for r in results) == ["a.wav", "sub/b.wav"]
    single = wavegen.enhance_files(model, as_given(folder / "a.wav"), tmp_path / "single")
    assert [r.output.name for r in single] == ["a.wav"]


@pytest.mark.parametrize("inputs, message", [
    (b"noisy_dir", "inputs: expected a path or a list of paths (str or pathlib.Path), got bytes"),
    (5, "inputs: expected a path or a list of paths (str or pathlib.Path), got int"),
    (["a.wav", None], "inputs[1]: expected a path (a str or pathlib.Path), got NoneType"),
    ([b"a.wav"], "inputs[0]: expected a path (a str or pathlib.Path), got bytes"),
], ids=["bytes", "int", "None-in-list", "bytes-in-list"])
def test_enhance_files_refuses_what_is_not_paths_in_one_line_before_any_work(model, tmp_path, inputs, message):
    with pytest.raises(TypeError) as refused:
        enhance_files(model, inputs, tmp_path / "out")
    assert str(refused.value) == message
    assert not (tmp_path / "out").exists()


def test_enhance_file_and_files_name_a_wrong_model_or_path_argument(model, tmp_path):
    src = write(tmp_path / "a.wav", 0.2, 16000)
    cases = [
        (lambda: enhance_file("model.safetensors", src, tmp_path / "o.wav"),
         TypeError, "model: got the path 'model.safetensors', not a model; load it first with "
                    "wavegen.load('model.safetensors')"),
        (lambda: enhance_files(None, [src], tmp_path / "out"),
         TypeError, "model: expected a model from wavegen.load, got NoneType"),
        (lambda: enhance_file(model, None, tmp_path / "o.wav"),
         TypeError, "input_path: expected a path (a str or pathlib.Path), got NoneType"),
        (lambda: enhance_file(model, src, 3),
         TypeError, "output_path: expected a path (a str or pathlib.Path), got int"),
        (lambda: enhance_files(model, [src], None),
         TypeError, "output_dir: expected a path (a str or pathlib.Path), got NoneType"),
        (lambda: enhance_file(model, tmp_path, tmp_path / "o.wav"),
         WavegenError, f"{tmp_path}: is a folder; enhance_files enhances the files in a folder"),
        (lambda: enhance_file(model, tmp_path / "missing.wav", tmp_path / "o.wav"),
         AudioFileError, f"{tmp_path / 'missing.wav'}: no such file"),
    ]
    for call, error, message in cases:
        with pytest.raises(error) as refused:
            call()
        assert str(refused.value) == message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]

