"""The persistent Triton sampling kernel gives the same samples as the cached PyTorch path.

Without a GPU the kernel runs under Triton's CPU interpreter, which must be
switched on (TRITON_INTERPRET=1) before Triton is imported, so those cases run
in one child process: this file executed as a script prints each case's
outcome as JSON. With a GPU the same cases also run here, compiled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("triton")

# Nothing a power of two, and skip/output wider than one 64-column tile of the output stack.
ODD = dict(residual_channels=12, gate_channels=20, skip_channels=72, output_channels=70, bins=50,
           layers=3, stacks=1)

# name: (channels, conditioning, batch, steps, temperature, rows per program, steps per launch)
CASES = {
    "tiny-plain-b1": ("tiny", "none", 1, 48, 1.0, None, None),
    "tiny-speaker-b3": ("tiny", "speaker", 3, 40, 1.0, None, None),           # 3 programs of 1 row
    "tiny-mel-b17-cold": ("tiny", "mel", 17, 40, 0.7, None, None),           # tl.dot, 16 + 1 rows
    "tiny-both-b3-rows4": ("tiny", "both", 3, 40, 1.0, 4, None),             # broadcast, a masked row
    "tiny-both-b1-chunked": ("tiny", "both", 1, 40, 1.0, None, 16),          # state carried across launches
    "odd-plain-b17": ("odd", "none", 17, 32, 1.0, None, None),
    "odd-mel-b3-rows4": ("odd", "mel", 3, 32, 1.0, 4, None),
    "odd-both-b1-cold": ("odd", "both", 1, 40, 0.7, None, None),
}


def compare(name: str, device: str) -> dict:
    """Cached PyTorch vs the Triton kernel for one case: {"equal", "mismatches", "progress"}."""
    from wavegen.audio.wavenet import WAVENET_CONFIGS, WaveNet, sampling
    from wavegen.audio.wavenet.kernels import gpu, packing
    from wavegen.core.autoregressive import make_draws

    channels, conditioning, batch, steps, temperature, rows, chunk = CASES[name]
    extra = {}
    if conditioning in ("speaker", "both"):
        extra["speakers"] = 3
    if conditioning in ("mel", "both"):
        extra.update(mel_channels=5, upsample_scales=[2, 2])
    torch.manual_seed(sum(map(ord, name)))
    config = WAVENET_CONFIGS["tiny"] if channels == "tiny" else ODD
    model = WaveNet(**config, **extra).eval().to(device)
    speaker = torch.arange(batch, device=device) % 3 if "speakers" in extra else None
    mel = torch.randn(batch, 5, steps // 4, device=device) if "mel_channels" in extra else None
    draws = make_draws(batch, steps, 1, seed=7)
    cached = sampling.generate(model, draws, speaker=speaker, mel=mel, temperature=temperature, path="cached")
    done, chunk_steps = [], packing.fused_chunk_steps
    if chunk is not None:                    # conditioning_chunks looks the chunk rule up at each call
        packing.fused_chunk_steps = lambda *args, **limits: chunk
    try:
        with torch.no_grad():
            cond = model.conditioning(batch, speaker, mel)
            fused = gpu.generate(model, draws, cond, temperature, done.append, block_rows=rows)
    finally:
        packing.fused_chunk_steps = chunk_steps
    return {"equal": torch.equal(cached, fused), "mismatches": int((cached != fused).sum()), "progress": done}


@pytest.fixture(scope="module")
def interpreted() -> dict:
    env = dict(os.environ, TRITON_INTERPRET="1")
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    run = subprocess.run([sys.executable, __file__], env=env, cwd=root, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", CASES)
def test_interpreted_kernel_matches_cached_path(interpreted, name):
    result = interpreted[name]
    assert result["equal"], f"{result['mismatches']} samples differ"
    steps, chunk = CASES[name][3], CASES[name][6] or CASES[name][3]
    assert result["progress"] == [min(chunk, steps - start) for start in range(0, steps, chunk)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", CASES)
def test_gpu_kernel_matches_cached_path(name, monkeypatch):
    # TF32 convolutions in the cached path's output stack would round differently from the kernel's fp32.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    result = compare(name, "cuda")
    assert result["equal"], f"{result['mismatches']} samples differ"


def test_cpu_tensors_without_the_interpreter_are_refused(monkeypatch):
    from wavegen.audio.wavenet import WAVENET_CONFIGS, WaveNet
    from wavegen.audio.wavenet.kernels import gpu
    from wavegen.errors import WavegenError

    if gpu._interpreted():
        pytest.skip("this process runs Triton's interpreter")
    with pytest.raises(WavegenError, match="CUDA device"):
        gpu.generate(WaveNet(**WAVENET_CONFIGS["tiny"]), torch.rand(1, 4, 1), None, 1.0, None)


def test_missing_triton_is_a_clear_error(monkeypatch):
    from wavegen.audio.wavenet import WAVENET_CONFIGS, WaveNet
    from wavegen.audio.wavenet.kernels import gpu
    from wavegen.errors import WavegenError

    monkeypatch.setattr(gpu, "triton", None)
    with pytest.raises(WavegenError, match="needs Triton"):
        gpu.generate(WaveNet(**WAVENET_CONFIGS["tiny"]), torch.rand(1, 4, 1), None, 1.0, None)


if __name__ == "__main__":          # the child process: TRITON_INTERPRET=1 is already in the environment
    torch.set_num_threads(1)
    print(json.dumps({name: compare(name, "cpu") for name in CASES}))
