"""The demo recipe end to end on a tiny corpus and model, through the real command."""

import json
import math
import sys

import numpy as np
import pytest
import soundfile as sf

from tests.support import assert_one_line, wavegen_cli
import wavegen
from wavegen.errors import WavegenError

TINY = ["--set", "corpus.train_speakers=2", "--set", "corpus.train_utterances_per_speaker=3",
        "--set", "corpus.test_speakers=1", "--set", "corpus.test_utterances_per_speaker=2",
        "--set", "model.window=256", "--set", "model.channels=[4,8,8,16]", "--set", "model.kernel_size=7",
        "--set", "train.batch_size=8", "--set", "train.reference_batch=8",
        "--set", "train.checkpoint_every=2", "--set", "train.eval_every=2", "--set", "train.log_every=1",
        "--set", "enhance.batch_size=4", "--set", "train.validation_speakers=0", "--set", "train.select_by=",
        "--set", "train.attenuation_limits_db=[]"]



def test_demo_recipe_runs_end_to_end_and_resumes(tmp_path):
    exp = tmp_path / "exp"
    args = ["recipe", "segan", "--data", "demo", "--exp-dir", str(exp), "--max-steps", "3", *TINY]
    first = wavegen_cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    for metric in ("pesq", "stoi", "ssnr", "csig", "cbak", "covl"):
        assert metric in first.stdout
    assert "noisy" in first.stdout and "enhanced" in first.stdout

    config = json.loads((exp / "config.json").read_text())
    assert config["train"]["max_steps"] == 3 and config["model"]["window"] == 256
    model = wavegen.load(exp / "model.safetensors")
    assert model.config["channels"] == [4, 8, 8, 16]
    assert sorted(p.name for p in (exp / "enhanced").iterdir()) == ["p232_001.wav", "p232_002.wav"]
    assert (exp / "metrics" / "enhanced.csv").exists() and (exp / "results.txt").exists()
    samples = sorted(p.name for p in (exp / "samples").iterdir())
    assert "p232_001_enhanced.wav" in samples and "p232_001_clean.wav" in samples
    assert sf.info(str(exp / "samples" / "p232_001_enhanced.wav")).samplerate == 16000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp"]     # nothing written outside --exp-dir

    # Re-running skips every stage and prints the same table.
    mtime = (exp / "model.safetensors").stat().st_mtime_ns
    again = wavegen_cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert (exp / "model.safetensors").stat().st_mtime_ns == mtime

    # A different model in the same folder is refused, and the saved config still describes what is there.
    saved = (exp / "config.json").read_text()
    changed = wavegen_cli(*args, "--set", "model.kernel_size=5", cwd=tmp_path)
    assert changed.returncode == 1 and "another model or config" in changed.stderr
    assert (exp / "config.json").read_text() == saved

    # More steps: training continues from the last checkpoint, later stages re-run.
    more = wavegen_cli("-v", *[a if a != "3" else "5" for a in args], cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert "resumed from" in more.stderr and "step 00000003" not in more.stderr
    assert wavegen.load(exp / "model.safetensors") is not None
    steps = [line.split(",")[0] for line in (exp / "logs/train.csv").read_text().splitlines()[1:]]
    assert steps == ["1", "2", "3", "4", "5"]


def test_the_published_checkpoint_is_the_validation_best_and_the_results_say_so(tmp_path):
    from wavegen.core.checkpoint import read_checkpoint
    exp = tmp_path / "exp"
    run = wavegen_cli("recipe", "segan", "--data", "demo", "--exp-dir", str(exp), "--max-steps", "6", *TINY,
                      "--set", "train.validation_speakers=1", "--set", "train.select_by=val_min_gain",
                      "--set", "train.attenuation_limits_db=[12,6]", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    header, _ = read_checkpoint(exp / "model.safetensors")
    rows = (exp / "logs" / "eval.csv").read_text().splitlines()
    columns = rows[0].split(",")
    assert {"val_pesq", "val_stoi", "val_csig", "val_covl", "val_ssnr", "val_min_gain"} <= set(columns)
    gain = {int(r.split(",")[0]): float(r.split(",")[columns.index("val_min_gain")]) for r in rows[1:]}
    assert sorted(gain) == [2, 4, 6]
    best = max(gain, key=gain.get)
    assert header["selection"] == {"metric": "val_min_gain", "mode": "max", "step": best, "value": gain[best]}
    assert f"published weights: step {best} of 6, where val_min_gain was best" in run.stdout
    assert "on 3 validation utterances of held-out training speakers" in run.stdout
    # The attenuation limit of the best evaluation is in the published weights and the results.
    mix = {int(r.split(",")[0]): float(r.split(",")[columns.index("val_noisy_mix")]) for r in rows[1:]}[best]
    limit = wavegen.load(exp / "model.safetensors").attenuation_limit_db
    assert mix in (0.0, pytest.approx(10 ** -0.6), pytest.approx(10 ** -0.3))
    assert limit == (None if mix == 0 else pytest.approx(-20 * math.log10(mix)))
    assert ("attenuation limit:" in run.stdout) == (limit is not None)
    assert limit is None or f"attenuation limit: {limit:.3g} dB" in run.stdout
    assert (exp / "metrics" / "validation.png").stat().st_size > 1000
    refused = wavegen_cli("recipe", "segan", "--data", "demo", "--exp-dir", str(tmp_path / "other"), *TINY,
                          "--set", "train.select_by=val_pesq", cwd=tmp_path)
    assert refused.returncode == 1 and "need train.validation_speakers > 0" in refused.stderr
    assert not (tmp_path / "other").exists()


def test_recipe_errors_are_one_line(tmp_path):
    bad = wavegen_cli("recipe", "segan", "--data", "nosuch", cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.strip().count("\n") == 0
    assert "no segan recipe for data 'nosuch'" in bad.stderr and "voicebank" in bad.stderr
    missing = wavegen_cli("recipe", "segan", "--data", "voicebank", "--data-root", str(tmp_path / "none"),
                          "--exp-dir", str(tmp_path / "exp"), cwd=tmp_path)
    assert missing.returncode == 1 and "clean_trainset_28spk_wav" in missing.stderr
    assert "Traceback" not in missing.stderr
    typo = wavegen_cli("recipe", "segan", "--data", "demo", "--set", "train.batch_szie=3",
                       "--exp-dir", str(tmp_path / "exp2"), cwd=tmp_path)
    assert typo.returncode == 1 and "unknown key 'train.batch_szie'" in typo.stderr


def test_voicebank_recipe_finds_the_corpus_in_its_default_location(tmp_path):
    from wavegen.data.demo import write_voicebank_demo
    write_voicebank_demo(tmp_path / "data" / "VoiceBank-DEMAND", train_speakers=2, train_utterances_per_speaker=3,
                         test_speakers=1, test_utterances_per_speaker=2)
    model = [a for i, a in enumerate(TINY) if a != "--set" and not a.startswith("corpus.")]
    sets = [arg for value in model for arg in ("--set", value)]
    run = wavegen_cli("recipe", "segan", "--data", "voicebank", "--max-steps", "1", *sets, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "enhanced" in run.stdout and (tmp_path / "exp" / "segan-voicebank" / "model.safetensors").exists()


def test_missing_corpus_names_layout_source_and_places_and_creates_nothing(tmp_path):
    env_root = tmp_path / "corpora"
    for env in ({}, {"WAVEGEN_DATA": str(env_root)}):
        run = wavegen_cli("recipe", "segan", "--data", "voicebank", cwd=tmp_path, env=env)
        assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1, run.stderr
        for expected in ("clean_trainset_28spk_wav", "noisy_testset_wav", "https://doi.org/10.7488/ds/2117",
                         "data/VoiceBank-DEMAND", "--data-root", "WAVEGEN_DATA"):
            assert expected in run.stderr
        assert list(tmp_path.iterdir()) == []
    run = wavegen_cli("recipe", "segan", "--data", "voicebank", cwd=tmp_path, env={"WAVEGEN_DATA": str(env_root)})
    assert str(env_root / "VoiceBank-DEMAND") in run.stderr
    for model, corpus, url in (("wavenet", "vctk", "10.7488/ds/2645"), ("wavenet", "ljspeech", "keithito.com")):
        run = wavegen_cli("recipe", model, "--data", corpus, cwd=tmp_path)
        assert run.returncode == 1 and url in run.stderr and "--data-root" in run.stderr, run.stderr
    # A folder that is there but holds something else: named, and still nothing created.
    (tmp_path / "wrong").mkdir()
    run = wavegen_cli("recipe", "segan", "--data", "voicebank", "--data-root", str(tmp_path / "wrong"), cwd=tmp_path)
    assert run.returncode == 1 and "is missing clean_trainset_28spk_wav" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wrong"]


def test_experiment_folder_apart_from_the_corpus_and_not_a_file(tmp_path):
    from wavegen.data.demo import write_voicebank_demo
    corpus = write_voicebank_demo(tmp_path / "vb", train_speakers=1, train_utterances_per_speaker=2,
                                  test_speakers=1, test_utterances_per_speaker=1)
    listing = sorted(p.name for p in corpus.iterdir())
    inside = wavegen_cli("recipe", "segan", "--data", "voicebank", "--data-root", str(corpus),
                         "--exp-dir", str(corpus / "exp"), cwd=tmp_path)
    assert inside.returncode == 1 and "one inside the other" in inside.stderr
    assert sorted(p.name for p in corpus.iterdir()) == listing
    (tmp_path / "afile").write_text("mine")
    on_file = wavegen_cli("recipe", "segan", "--data", "voicebank", "--data-root", str(corpus),
                          "--exp-dir", str(tmp_path / "afile"), cwd=tmp_path)
    assert on_file.returncode == 1 and "is a file, not a folder" in on_file.stderr
    assert (tmp_path / "afile").read_text() == "mine"


@pytest.mark.parametrize("assignment, message", [
    ("train.batch_size=abc", "--set train.batch_size=abc: expected an integer (default: 16)"),
    ("model.channels=5", "--set model.channels=5: expected a list of integers (default: [16, 32,"),
    ("train.lr=fast", "--set train.lr=fast: expected a number (default: 0.0002)"),
    ("train.ema_decay=true", "expected a number"),
    ("model.kernel_size=3.5", "expected an integer"),
    ("train.batch_size=null", "expected an integer"),
])
def test_mistyped_set_value_is_refused_before_any_work(tmp_path, assignment, message):
    run = wavegen_cli("recipe", "segan", "--data", "demo", "--set", assignment, cwd=tmp_path)
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert message in run.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("model, assignment, message", [
    ("segan", "train.batch_size=0", "train.batch_size must be at least 1, got 0"),
    ("segan", "train.ema_decay=1.5", "train.ema_decay must be at least 0 and below 1"),
    ("segan", "enhance.batch_size=0", "enhance.batch_size must be at least 1"),
    ("segan", "train.remix=1.5", "train.remix must be between 0 and 1, got 1.5"),
    ("segan", "train.remix_gain_db=[5,-5]", "train.remix_gain_db must be [lower, upper] in dB, got [5.0, -5.0]"),
    ("segan", "train.stft_weight=-1", "train.stft_weight must be at least 0"),
    ("segan", "train.attenuation_limits_db=[10,0]", "train.attenuation_limits_db must be positive numbers of dB"),
    ("segan", "train.select_by=", "train.attenuation_limits_db are chosen on validation: they need"),
    ("wavenet", "model.residual_channels=0", "residual_channels must be at least 1"),
    ("wavenet", "model.gate_channels=7", "gate_channels (7) must be even"),
    ("wavenet", "conditioning=foo", "expected one of none, speaker, mel"),
    ("wavenet", "sample.seconds=-1", "sample.seconds must be positive"),
    ("segan", "corpus.train_speakers=100", "demo corpus: train_speakers must be 1..28, got 100"),
    ("wavenet", "corpus.utterances_per_speaker=0", "demo corpus: utterances_per_speaker must be at least 1"),
])
def test_impossible_set_value_is_refused_before_any_work(tmp_path, model, assignment, message):
    run = wavegen_cli("recipe", model, "--data", "demo", "--set", assignment, cwd=tmp_path)
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert message in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_set_values_keep_the_type_of_their_default():
    from wavegen.core.experiment import apply_overrides
    config = {"a": {"rate": 0.5, "n": 3, "flag": False, "name": "x", "sizes": [1, 2], "gains": [1.0], "any": None}}
    out = apply_overrides(config, ["a.rate=1", "a.n=4", "a.flag=true", "a.name=12", "a.sizes=[3]",
                                   "a.gains=[2,3]", "a.any=[1,\"b\"]"])
    assert out == {"a": {"rate": 1.0, "n": 4, "flag": True, "name": "12", "sizes": [3], "gains": [2.0, 3.0],
                         "any": [1, "b"]}}
    assert isinstance(out["a"]["rate"], float) and config["a"]["n"] == 3


def test_torchrun_trains_demo_configuration_on_two_processes(tmp_path):
    exp = tmp_path / "exp"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                "--standalone", "-m", "wavegen.cli"]
    run = wavegen_cli("recipe", "segan", "--data", "demo", "--exp-dir", str(exp), "--max-steps", "4",
                      "--device", "cpu", *TINY,
                      cwd=tmp_path, launcher=launcher)
    assert run.returncode == 0, run.stderr[-3000:]
    header = json.loads((exp / "stages" / "train.json").read_text())["result"]
    assert header["step"] == 4
    checkpoint = exp / "checkpoints" / "step-00000004.safetensors"
    from wavegen.core.checkpoint import read_checkpoint
    meta, _ = read_checkpoint(checkpoint)
    assert meta["train_state"]["world_size"] == 2
    assert "enhanced" in run.stdout


def voicebank_corpus(root, train=("p226_001",), test=("p232_001",), seconds=0.5):
    """A tiny corpus in the real VoiceBank-DEMAND layout: 48 kHz tones, the noisy ones with an offset."""
    from wavegen.audio.io import write_audio
    tone = 0.1 * np.sin(np.arange(int(seconds * 48000)) / 10)
    for split, names in (("trainset_28spk", train), ("testset", test)):
        for kind, offset in (("clean", 0.0), ("noisy", 0.02)):
            for name in names:
                write_audio(root / f"{kind}_{split}_wav" / f"{name}.wav", tone + offset, 48000, subtype="PCM_16")
    return root


def test_a_corpus_with_too_few_windows_for_a_batch_is_refused_before_scoring_or_training(tmp_path):
    from wavegen.recipes.segan import voicebank
    corpus, exp = voicebank_corpus(tmp_path / "vb"), tmp_path / "exp"
    with pytest.raises(WavegenError) as error:
        voicebank.run(exp, corpus, [])     # the paper's: 86 epochs of batches of 400 windows of 16384 samples
    assert_one_line(error, f"VoiceBank-DEMAND at {corpus}: the 1 training pair of clean_trainset_28spk_wav gives "
                           "1 window of model.window=16384 samples, fewer than one batch (train.batch_size=400)")
    assert sorted(p.name for p in exp.iterdir()) == ["data"]      # the prepared cache only: nothing scored


def test_holding_out_every_training_speaker_is_refused_before_anything_is_written(tmp_path):
    corpus, exp = voicebank_corpus(tmp_path / "vb", train=("p226_001", "p226_002")), tmp_path / "exp"
    run = wavegen_cli("recipe", "segan", "--data", "voicebank", "--data-root", str(corpus), "--exp-dir", str(exp),
                      "--set", "train.validation_speakers=1", "--set", "train.select_by=val_pesq", cwd=tmp_path)
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert (f"VoiceBank-DEMAND at {corpus}: clean_trainset_28spk_wav holds 1 speaker (p226); holding out "
            "train.validation_speakers=1 would leave none to train on") in run.stderr
    assert not exp.exists()


def test_clean_and_noisy_files_at_other_rates_are_resampled_and_train(tmp_path):
    from wavegen.audio.io import write_audio
    corpus, exp = voicebank_corpus(tmp_path / "vb", train=("p226_001", "p227_001")), tmp_path / "exp"
    for name in ("p226_001", "p227_001"):                     # noisy training files at 16 kHz, stereo
        write_audio(corpus / "noisy_trainset_28spk_wav" / f"{name}.wav",
                    np.stack([np.full(8000, 0.01), np.zeros(8000)]), 16000, subtype="PCM_16")
    model = [a for a in TINY if a != "--set" and not a.startswith("corpus.")]
    run = wavegen_cli("recipe", "segan", "--data", "voicebank", "--data-root", str(corpus), "--exp-dir", str(exp),
                      "--max-steps", "1", *[arg for value in model for arg in ("--set", value)], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "enhanced" in run.stdout and (exp / "model.safetensors").exists()


def test_a_generated_corpus_with_too_few_speakers_to_hold_out_is_refused_before_scoring(tmp_path):
    exp = tmp_path / "exp"
    validated = [v for v in TINY[1::2] if not v.startswith(("train.validation_speakers", "train.select_by",
                                                             "train.attenuation_limits_db"))]     # the demo's: 2
    run = wavegen_cli("recipe", "segan", "--data", "demo", "--exp-dir", str(exp),
                      *[a for v in validated for a in ("--set", v)], cwd=tmp_path)
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert (f"VoiceBank-DEMAND at {exp / 'corpus'}: clean_trainset_28spk_wav holds 2 speakers (p226, p227); "
            "holding out train.validation_speakers=2 would leave none to train on; set it to at most 1") in run.stderr
    assert not (exp / "stages" / "score_noisy.json").exists() and not (exp / "checkpoints").exists()
