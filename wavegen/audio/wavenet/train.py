"""Training WaveNet: teacher-forced negative log-likelihood of μ-law classes (or logistic mixtures).

Each batch is (audio crops (B, T), speaker indices (B,)). A mel-conditioned
model computes its log-mel frames from the crop itself, as vocoders trained
on ground-truth mels do (Shen et al. 2018, §2.2 trains on ground-truth-aligned
predictions; frames from the waveform are the simplest form of that).
"""

from __future__ import annotations

import math

import torch

from wavegen.audio.wavenet.model import WaveNet
from wavegen.core.autoregressive import unigram_nll
from wavegen.core.likelihood import LikelihoodTask


class WaveNetTask(LikelihoodTask):
    model: WaveNet

    def loss(self, batch) -> torch.Tensor:
        audio, speaker = batch
        return crop_nll(self.model, audio, speaker)


def crop_nll(model: WaveNet, audio: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
    """Mean NLL (nats per sample) of waveform crops (B, T) under ``model``."""
    targets = model.encode(audio)
    mel = model.mel_frames(audio) if model.mel is not None else None
    cond = model.conditioning(audio.shape[0], speaker, mel)
    return model.nll(targets, None if cond is None else cond.chunk(0, audio.shape[1]))


@torch.no_grad()
def test_likelihood(model: WaveNet, test_batches, train_audio: torch.Tensor) -> dict[str, float]:
    """Test NLL of the model and of the training set's unigram (class frequency) distribution, in bits."""
    model.eval()
    device = next(model.parameters()).device
    total, count, targets = 0.0, 0, []
    for audio, speaker in test_batches:
        audio, speaker = audio.to(device), speaker.to(device)
        total += crop_nll(model, audio, speaker).item() * audio.numel()
        count += audio.numel()
        targets.append(model.encode(audio).cpu())
    result = {"model_bits": total / count / math.log(2)}
    if model.output.discrete:
        unigram = unigram_nll(model.encode(train_audio), torch.cat([t.reshape(-1) for t in targets]),
                              model.output.bins)
        result["unigram_bits"] = unigram / math.log(2)
    return result
