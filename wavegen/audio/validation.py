"""Validation of an enhancer on whole utterances, as ``wavegen enhance`` runs it, with the measures users report.

What an enhancement recipe selects its published checkpoint by: each evaluation
enhances the held-out (clean, noisy) utterances exactly as ``wavegen enhance``
would, scores them (``val_pesq``, ``val_stoi``, ``val_csig``, ...; see
:mod:`wavegen.audio.metrics`) and gives ``val_min_gain``, the smallest gain over
the noisy input among them. Given attenuation limits (an enhancer's
``attenuation_limit_db``, a share of the input mixed back), each evaluation also
tries those and keeps the one where ``val_min_gain`` is best; the model leaves the
evaluation holding it, so the weights a recipe publishes carry their limit.

A training task calls it from its ``evaluate`` (``SEGANTask(utterance_validation=...)``):
the task never imports the enhancement pipeline, which sits above the models.
"""

from __future__ import annotations

import numpy as np

from wavegen.audio.enhance import enhance_waveform
from wavegen.audio.metrics import mean_scores
from wavegen.audio.selection import min_gain


class UtteranceValidation:
    """Scores an enhancer on ``utterances`` [(clean, noisy) arrays at the model's rate] per evaluation."""

    def __init__(self, utterances: list[tuple[np.ndarray, np.ndarray]], sample_rate: int, *,
                 attenuation_limits_db: tuple[float, ...] = ()):
        if attenuation_limits_db and not utterances:
            raise ValueError("attenuation_limits_db are chosen on validation utterances: give some")
        self.utterances, self.sample_rate = list(utterances), sample_rate
        self.attenuation_limits_db = tuple(float(limit) for limit in attenuation_limits_db)
        self._noisy_scores: dict[str, float] | None = None

    def __call__(self, model, device) -> dict[str, float]:
        """Mean ``val_<metric>`` over the utterances and ``val_min_gain``; with limits, those of the best one.

        ``val_noisy_mix`` is then the share of the input the kept limit mixes back.
        """
        if not self.utterances:
            return {}
        best = None
        limits = (None, *self.attenuation_limits_db) if self.attenuation_limits_db else (model.attenuation_limit_db,)
        for limit in limits:
            model.attenuation_limit_db = limit
            means = self.scores_as_enhanced(model, device)
            if best is None or means["min_gain"] > best[1]["min_gain"]:
                best = limit, means
        model.attenuation_limit_db = best[0]
        return {f"val_{name}": value for name, value in best[1].items()} | (
            {"val_noisy_mix": float(model.noisy_mix)} if self.attenuation_limits_db else {})

    def scores_as_enhanced(self, model, device) -> dict[str, float]:
        """Mean scores of the utterances as ``model`` (with its current limit) enhances them, and their min gain."""
        enhanced = [np.clip(enhance_waveform(model, noisy, self.sample_rate, device=device).numpy(), -1.0, 1.0)
                    for _, noisy in self.utterances]
        means = mean_scores([(clean, out) for (clean, _), out in zip(self.utterances, enhanced)], self.sample_rate)
        means["min_gain"] = min_gain(means, self.noisy_scores())
        return means

    def noisy_scores(self) -> dict[str, float]:
        """The noisy input's mean scores (computed once): what enhancing must beat."""
        if self._noisy_scores is None:
            self._noisy_scores = mean_scores(self.utterances, self.sample_rate)
        return self._noisy_scores
