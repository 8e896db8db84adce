"""Choosing among speech-enhancement systems (or checkpoints, or settings) by their scores.

The scores are :func:`wavegen.audio.metrics.mean_scores` dictionaries; the criterion
weighs every measure that speech-enhancement results report, so a choice made by it
does not trade one reported measure away for another.
"""

from __future__ import annotations

import math

# The measures speech-enhancement results report (higher is better), each with the span of its scale:
# wide-band PESQ 1-4.5 (P.862.2), STOI and ESTOI 0-1, the composite models 1-5 and segmental SNR
# -10..35 dB (composite.m's clamp). :func:`min_gain` compares systems across them.
REPORTED_SCALES = {"pesq": 3.5, "stoi": 1.0, "estoi": 1.0, "csig": 4.0, "cbak": 4.0, "covl": 4.0, "ssnr": 45.0}


def min_gain(scores: dict[str, float], baseline: dict[str, float]) -> float:
    """The smallest improvement of ``scores`` over ``baseline`` among the reported measures.

    Each difference is divided by its measure's span (``REPORTED_SCALES``), so 0.01 is a hundredth of
    the scale: 0.035 PESQ, 0.01 STOI, 0.45 dB segmental SNR. Positive means better on every measure;
    the most negative measure decides. NaN when a measure is undefined on either side.
    """
    gains = [(scores[m] - baseline[m]) / span for m, span in REPORTED_SCALES.items()]
    return float(min(gains)) if all(math.isfinite(g) for g in gains) else math.nan
