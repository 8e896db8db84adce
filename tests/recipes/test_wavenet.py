"""The WaveNet demo recipe and `wavegen sample`, through the real command on a tiny configuration."""

import numpy as np
import pytest
import soundfile as sf
import torch

import wavegen
from tests.support import wavegen_cli
from wavegen.audio.wavenet import WAVENET_CONFIGS, WaveNet
from wavegen.core.checkpoint import save_checkpoint

TINY = ["--set", "corpus.speakers=2", "--set", "corpus.utterances_per_speaker=3", "--set", "data.test_utterances=2",
        *[arg for key, value in WAVENET_CONFIGS["tiny"].items() for arg in ("--set", f"model.{key}={value}")],
        "--set", "train.batch_size=4", "--set", "train.crop_samples=400", "--set", "train.checkpoint_every=2",
        "--set", "train.eval_every=2", "--set", "train.log_every=1", "--set", "evaluate.crop_samples=800",
        "--set", "sample.seconds=0.05", "--set", "sample.speakers=2"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("wavenet")
    exp = root / "exp"
    args = ["recipe", "wavenet", "--data", "demo", "--exp-dir", str(exp), "--max-steps", "4", *TINY]
    result = wavegen_cli(*args, cwd=root)
    assert result.returncode == 0, result.stderr
    return root, exp, args, result


def test_demo_recipe_trains_evaluates_samples_and_publishes(demo_run):
    root, exp, args, result = demo_run
    assert "unigram mu-law" in result.stdout and "WaveNet (test" in result.stdout
    model = wavegen.load(exp / "model.safetensors")
    assert isinstance(model, WaveNet) and model.config["speaker_names"] == ["p225", "p226"]
    assert model.config["residual_channels"] == WAVENET_CONFIGS["tiny"]["residual_channels"]
    # Samples stay in the experiment folder, named after what made them; nothing lands in the cwd.
    generated = sorted(p.name for p in (exp / "samples").iterdir())
    assert generated == ["p225-seed0-0.wav", "p226-seed0-0.wav"]
    assert sorted(p.name for p in root.iterdir()) == ["exp"]
    audio, rate = sf.read(str(exp / "samples" / generated[0]))
    assert rate == 16000 and len(audio) == 800
    # A second run skips every stage and prints the same table.
    again = wavegen_cli(*args, cwd=root)
    assert again.returncode == 0 and again.stdout == result.stdout


def test_publish_copies_samples_and_replaces_only_with_overwrite(demo_run, tmp_path):
    root, exp, _, _ = demo_run
    published = wavegen_cli("publish", str(exp), str(tmp_path / "pub"), cwd=tmp_path)
    assert published.returncode == 0, published.stderr
    assert sorted(p.name for p in (tmp_path / "pub").iterdir()) == ["p225-seed0-0.wav", "p226-seed0-0.wav"]
    (tmp_path / "pub" / "p225-seed0-0.wav").write_bytes(b"mine")
    again = wavegen_cli("publish", str(exp), str(tmp_path / "pub"), cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr and "--overwrite" in again.stderr
    assert (tmp_path / "pub" / "p225-seed0-0.wav").read_bytes() == b"mine"
    forced = wavegen_cli("publish", str(exp), str(tmp_path / "pub"), "--overwrite", cwd=tmp_path)
    assert forced.returncode == 0 and (tmp_path / "pub" / "p225-seed0-0.wav").read_bytes() != b"mine"
    empty = wavegen_cli("publish", str(tmp_path / "pub"), str(tmp_path / "other"), cwd=tmp_path)
    assert empty.returncode == 1 and "no samples to publish" in empty.stderr


def test_publish_says_how_many_would_be_replaced_and_never_writes_into_a_folder_or_file_in_the_way(tmp_path):
    from wavegen.core.experiment import publish_samples
    from wavegen.errors import WavegenError
    from tests.support import assert_one_line
    samples = tmp_path / "exp" / "samples"
    (samples / "sub").mkdir(parents=True)
    (samples / "a.wav").write_bytes(b"A")
    (samples / "sub" / "b.wav").write_bytes(b"B")
    pub = tmp_path / "pub"
    pub.mkdir()
    (pub / "a.wav").write_bytes(b"mine")
    with pytest.raises(WavegenError) as error:
        publish_samples(tmp_path / "exp", pub)
    assert_one_line(error, f"{pub / 'a.wav'} already exists (1 of 2 files); use --overwrite to replace")
    assert (pub / "a.wav").read_bytes() == b"mine" and not (pub / "sub").exists()
    (pub / "sub").write_bytes(b"a file of mine")
    with pytest.raises(WavegenError) as error:
        publish_samples(tmp_path / "exp", pub, overwrite=True)
    assert_one_line(error, f"{pub / 'sub'}: is a file, not a folder")
    (pub / "sub").unlink()
    (pub / "a.wav").unlink()
    (pub / "a.wav").mkdir()
    with pytest.raises(WavegenError) as error:
        publish_samples(tmp_path / "exp", pub, overwrite=True)
    assert_one_line(error, f"{pub / 'a.wav'}: a folder is in the way")
    (pub / "a.wav").rmdir()
    assert [p.read_bytes() for p in publish_samples(tmp_path / "exp", pub)] == [b"A", b"B"]


def test_sample_command_writes_audio_with_each_path_identical(demo_run, tmp_path):
    _, exp, _, _ = demo_run
    outputs = {}
    for path in ("fused", "cached"):
        result = wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(tmp_path / path),
                             "--seconds", "0.02", "-n", "2", "--speaker", "p226", "--seed", "5", "--path", path,
                             "--device", "cpu", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        outputs[path] = [sf.read(str(tmp_path / path / f"p226-seed5-{i}.wav"))[0] for i in range(2)]
    for a, b in zip(outputs["fused"], outputs["cached"]):
        assert len(a) == 320 and np.array_equal(a, b)
        assert np.abs(a).max() > 0


def test_ljspeech_recipe_trains_a_vocoder_and_vocodes_test_utterances(tmp_path):
    from wavegen.data.demo import write_ljspeech_demo
    corpus = write_ljspeech_demo(tmp_path / "LJSpeech-1.1", utterances=6, seconds=(0.3, 0.5))
    exp = tmp_path / "exp"
    tiny = [arg for key, value in WAVENET_CONFIGS["tiny"].items() for arg in ("--set", f"model.{key}={value}")]
    result = wavegen_cli("recipe", "wavenet", "--data", "ljspeech", "--data-root", str(corpus), "--exp-dir", str(exp),
                         "--max-steps", "2", *tiny, "--set", "data.test_utterances=2", "--set", "data.sample_rate=8000",
                         "--set", "model.mel_channels=8", "--set", "model.upsample_scales=[4,4]",
                         "--set", "model.n_fft=64", "--set", "model.fmax=4000", "--set", "train.batch_size=2",
                         "--set", "train.crop_samples=400", "--set", "evaluate.crop_samples=800",
                         "--set", "sample.speakers=1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = wavegen.load(exp / "model.safetensors")
    assert model.mel is not None and model.sample_rate == 8000 and not model.config["speakers"]
    sources = list((exp / "samples" / "sources").iterdir())
    vocoded = list((exp / "samples").glob("*-vocoded-seed0-0.wav"))
    assert len(sources) == 1 and [p.name for p in vocoded] == [f"{sources[0].stem}-vocoded-seed0-0.wav"]
    assert len(sf.read(str(sources[0]))[0]) == len(sf.read(str(vocoded[0]))[0])


@pytest.fixture
def vocoder(tmp_path):
    torch.manual_seed(0)
    model = WaveNet(**WAVENET_CONFIGS["tiny"], mel_channels=8, upsample_scales=[4, 4], n_fft=64, sample_rate=8000)
    return save_checkpoint(tmp_path / "vocoder.safetensors", model)


def test_vocoder_samples_the_length_of_the_mel_source(vocoder, tmp_path):
    source = tmp_path / "speech.wav"
    sf.write(str(source), 0.3 * np.sin(np.arange(1200) / 5.0), 8000)
    result = wavegen_cli("sample", "-c", str(vocoder), "-o", str(tmp_path / "out"), "--mel-from", str(source),
                         cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    audio, rate = sf.read(str(tmp_path / "out" / "speech-vocoded-seed0-0.wav"))
    assert rate == 8000 and len(audio) == 1200


def test_sample_names_say_what_made_them_and_never_replace_without_overwrite(demo_run, tmp_path):
    _, exp, _, _ = demo_run
    common = ["sample", "-c", str(exp / "model.safetensors"), "-o", str(tmp_path / "out"), "--seconds", "0.01"]
    for speaker in ("p225", "p226"):
        assert wavegen_cli(*common, "--speaker", speaker, cwd=tmp_path).returncode == 0
    assert wavegen_cli(*common, "--speaker", "1", "--temperature", "0.5", cwd=tmp_path).returncode == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["p225-seed0-0.wav", "p226-seed0-0.wav", "p226-seed0-t0.5-0.wav"]
    before = (tmp_path / "out" / "p225-seed0-0.wav").read_bytes()
    again = wavegen_cli(*common, "--speaker", "p225", "--seed", "0", cwd=tmp_path)
    assert again.returncode == 1 and "p225-seed0-0.wav already exists" in again.stderr
    assert "--overwrite" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert wavegen_cli(*common, "--speaker", "p225", "--overwrite", cwd=tmp_path).returncode == 0
    assert (tmp_path / "out" / "p225-seed0-0.wav").read_bytes() == before      # same seed, same audio
    (tmp_path / "file").write_text("not a folder")
    into_file = wavegen_cli(*common[:4], str(tmp_path / "file"), "--speaker", "p225", cwd=tmp_path)
    assert into_file.returncode == 1 and "is a file, not a folder" in into_file.stderr
    assert (tmp_path / "file").read_text() == "not a folder"


@pytest.mark.parametrize("extra, message", [
    (["--seconds", "-1"], "--seconds must be a positive number"),
    (["--temperature", "0"], "temperature must be a positive number"),
    (["-n", "0"], "-n must be at least 1"),
    ([], "give --mel-from"),
    (["--mel-from", "{rate}"], "is at 16000 Hz but this vocoder works at 8000 Hz"),
    (["--mel-from", "{missing}"], "no such file"),
    (["--mel-from", "{rate}", "--speaker", "p1"], "no speaker conditioning"),
])
def test_sample_command_bad_input_is_one_clear_line(vocoder, tmp_path, extra, message):
    other_rate = tmp_path / "at16k.wav"
    sf.write(str(other_rate), np.zeros(1600), 16000)
    extra = [e.format(rate=other_rate, missing=tmp_path / "nope.wav") for e in extra]
    result = wavegen_cli("sample", "-c", str(vocoder), "-o", str(tmp_path / "out"), *extra, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_sample_command_rejects_unknown_speakers_and_other_families(demo_run, tmp_path):
    _, exp, _, _ = demo_run
    result = wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(tmp_path / "o"),
                         "--speaker", "p999", cwd=tmp_path)
    assert result.returncode == 1 and "unknown speaker 'p999'" in result.stderr and "p225" in result.stderr
    missing = wavegen_cli("sample", "-c", str(exp / "model.safetensors"), "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert missing.returncode == 1 and "give --speaker" in missing.stderr

    from wavegen.audio.segan.model import SEGAN, SEGAN_CONFIGS
    segan = save_checkpoint(tmp_path / "segan.safetensors", SEGAN(**SEGAN_CONFIGS["tiny"]))
    other = wavegen_cli("sample", "-c", str(segan), "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert other.returncode == 1
    assert other.stderr.strip() == f"error: {segan}: a segan checkpoint cannot sample; it can enhance"


def test_a_corpus_that_cannot_spare_the_test_utterances_is_refused_before_anything_is_written(tmp_path):
    from tests.speech_signals import ljspeech_corpus
    from tests.support import assert_one_line
    from wavegen.errors import WavegenError
    from wavegen.recipes.wavenet import ljspeech
    corpus, exp = ljspeech_corpus(tmp_path / "LJSpeech-1.1", clips=2, seconds=0.3), tmp_path / "exp"
    with pytest.raises(WavegenError) as error:
        ljspeech.run(exp, corpus, [])
    assert_one_line(error, f"LJSpeech at {corpus}: data.test_utterances=100, but its 2 utterances of 1 speaker "
                           "can spare at most 1 for testing", "lower data.test_utterances")
    with pytest.raises(WavegenError) as error:                # nothing to evaluate on
        ljspeech.run(exp, corpus, ["data.test_utterances=0"])
    assert_one_line(error, "data.test_utterances must be at least 1, got 0")
    assert not exp.exists()


def test_a_speaker_too_short_for_a_batch_of_crops_is_refused_before_training(tmp_path):
    from wavegen.errors import WavegenError
    from wavegen.recipes.wavenet import vctk
    from tests.support import assert_one_line
    corpus, exp = tmp_path / "VCTK-Corpus-0.92", tmp_path / "exp"
    for i in range(3):                                       # one speaker, clips of 10 ms: shorter than a crop
        path = corpus / "wav48_silence_trimmed" / "p225" / f"p225_{i + 1:03d}_mic1.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), np.full(480, 0.1), 48000, format="FLAC", subtype="PCM_16")
    settings = [s for s in TINY[1::2] if not s.startswith("corpus.")]
    with pytest.raises(WavegenError) as error:
        vctk.run(exp, corpus, [*settings, "data.test_utterances=1"])
    assert_one_line(error, f"VCTK at {corpus}: its 2 training utterances give 2 crops of train.crop_samples=400 "
                           "samples, fewer than one batch (train.batch_size=4)")
    assert not (exp / "checkpoints").exists() and not (exp / "config.json").exists()
    run = wavegen_cli("recipe", "wavenet", "--data", "vctk", "--data-root", str(corpus), "--exp-dir", str(exp),
                      "--max-steps", "1", *[a for s in settings for a in ("--set", s)], "--set", "sample.speakers=1",
                      "--set", "data.test_utterances=1", "--set", "train.batch_size=2", cwd=tmp_path)
    assert run.returncode == 0, run.stderr                    # a batch they fill: one speaker trains and samples
    assert sorted(p.name for p in (exp / "samples").iterdir()) == ["p225-seed0-0.wav"]
