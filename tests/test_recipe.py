"""The demo recipe end to end on a tiny corpus and model, through the real command."""

import json
import os
import subprocess
import sys

import soundfile as sf

import wavegen

TINY = ["--set", "corpus.train_speakers=2", "--set", "corpus.train_utterances_per_speaker=3",
        "--set", "corpus.test_speakers=1", "--set", "corpus.test_utterances_per_speaker=2",
        "--set", "model.window=256", "--set", "model.channels=[4,8,8,16]", "--set", "model.kernel_size=7",
        "--set", "train.batch_size=8", "--set", "train.reference_batch=8",
        "--set", "train.checkpoint_every=2", "--set", "train.eval_every=2", "--set", "train.log_every=1",
        "--set", "enhance.batch_size=4"]


def wavegen_cli(*args, cwd, launcher=None):
    cmd = (launcher or [sys.executable, "-m", "wavegen.cli"]) + list(args)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)


def test_demo_recipe_runs_end_to_end_and_resumes(tmp_path):
    exp = tmp_path / "exp"
    args = ["recipe", "segan", "--data", "demo", "--exp-dir", str(exp), "--max-steps", "3",
            "--set", f"publish.samples_dir={tmp_path / 'samples'}", *TINY]
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
    samples = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert "p232_001_enhanced.wav" in samples and "p232_001_clean.wav" in samples
    assert sf.info(str(tmp_path / "samples" / "p232_001_enhanced.wav")).samplerate == 16000

    # Re-running skips every stage and prints the same table.
    mtime = (exp / "model.safetensors").stat().st_mtime_ns
    again = wavegen_cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    assert (exp / "model.safetensors").stat().st_mtime_ns == mtime

    # More steps: training continues from the last checkpoint, later stages re-run.
    more = wavegen_cli("-v", *[a if a != "3" else "5" for a in args], cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert "resumed from" in more.stderr and "step 00000003" not in more.stderr
    assert wavegen.load(exp / "model.safetensors") is not None
    steps = [line.split(",")[0] for line in (exp / "logs/train.csv").read_text().splitlines()[1:]]
    assert steps == ["1", "2", "3", "4", "5"]


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


def test_torchrun_trains_demo_configuration_on_two_processes(tmp_path):
    exp = tmp_path / "exp"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                "--standalone", "-m", "wavegen.cli"]
    run = wavegen_cli("recipe", "segan", "--data", "demo", "--exp-dir", str(exp), "--max-steps", "4",
                      "--device", "cpu", "--set", f"publish.samples_dir={tmp_path / 'samples'}", *TINY,
                      cwd=tmp_path, launcher=launcher)
    assert run.returncode == 0, run.stderr[-3000:]
    header = json.loads((exp / "stages" / "train.json").read_text())["result"]
    assert header["step"] == 4
    checkpoint = exp / "checkpoints" / "step-00000004.safetensors"
    from wavegen.core.checkpoint import read_checkpoint
    meta, _ = read_checkpoint(checkpoint)
    assert meta["train_state"]["world_size"] == 2
    assert "enhanced" in run.stdout
