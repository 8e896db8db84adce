"""On-the-fly data augmentation for speech enhancement training.

``remix_noise`` re-mixes the noise of a batch of (clean, noisy) pairs. In an
additive corpus such as VoiceBank-DEMAND the noise of a pair is noisy − clean;
giving an utterance another utterance's noise at another level makes every
epoch show new mixtures, and a gain range wider than the corpus's own SNRs
(VoiceBank-DEMAND trains at 0–15 dB and tests at 2.5–17.5 dB) shows the model
inputs cleaner and noisier than any fixed pair, so it learns to leave clean
speech alone. This is the "dynamic mixing" used by later enhancement and
separation systems (e.g. Zeghidour and Grangier, "Wavesplit", 2021).
"""

from __future__ import annotations

import torch


def remix_noise(clean: torch.Tensor, noisy: torch.Tensor, probability: float,
                gain_db: tuple[float, float]) -> torch.Tensor:
    """A new noisy batch for (B, T) ``clean``/``noisy`` pairs; the clean side is unchanged.

    Each example is re-mixed with ``probability``: its noise is replaced by that
    of a randomly chosen example of the batch (possibly itself), scaled by a gain
    drawn uniformly in ``gain_db`` (lower, upper, in dB), and the mixture is
    clipped to [-1, 1] as a recording would be. Other examples keep their pair.
    Draws from torch's global generator (seeded per step by the trainer).
    """
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"remix probability must be in [0, 1], got {probability}")
    low, high = gain_db
    if low > high:
        raise ValueError(f"remix gain range must be (lower, upper) dB, got {tuple(gain_db)}")
    if probability == 0.0:
        return noisy
    batch, per_example = clean.shape[0], (-1,) + (1,) * (clean.dim() - 1)
    noise = (noisy - clean)[torch.randint(batch, (batch,), device=clean.device)]
    gain = 10.0 ** ((low + (high - low) * torch.rand(batch, device=clean.device)) / 20.0)
    remixed = (clean + gain.view(per_example) * noise).clamp(-1.0, 1.0)
    chosen = torch.rand(batch, device=clean.device) < probability
    return torch.where(chosen.view(per_example), remixed, noisy)
