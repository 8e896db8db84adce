"""Dataset readers, one per real on-disk layout, the cache they share, and embedded demo corpora in those layouts.

- :mod:`wavegen.data.cache`: the one dataset cache (format version, fingerprints,
  ``manifest.json`` written last, :class:`~wavegen.data.cache.CachedManifest`).
- speech: :mod:`~wavegen.data.voicebank` (VoiceBank-DEMAND, Valentini-Botinhao et al.
  2016 -> a 16 kHz cache and SEGAN-style training windows), :mod:`~wavegen.data.sc09`
  (Speech Commands digits), :mod:`~wavegen.data.corpora` (the utterance-corpus cache
  for WaveNet and the vocoder) over :mod:`~wavegen.data.ljspeech`,
  :mod:`~wavegen.data.vctk` and :mod:`~wavegen.data.utterances` (a folder of audio).
- images: :mod:`~wavegen.data.images` (dispatch and cache) over
  :mod:`~wavegen.data.mnist`, :mod:`~wavegen.data.cifar10` and :mod:`~wavegen.data.folders`.
- :mod:`wavegen.data.demo`, :mod:`~wavegen.data.sc09_demo`, :mod:`~wavegen.data.digits_demo`:
  demo corpora in the VoiceBank-DEMAND, VCTK, LJSpeech, Speech Commands and MNIST layouts,
  spoken by a text-to-speech engine (:mod:`wavegen.data.speech`) where they are speech.
"""

from wavegen.data.demo import write_voicebank_demo
from wavegen.data.voicebank import (
    VoiceBankManifest,
    VoiceBankWindows,
    check_voicebank_layout,
    load_voicebank_pairs,
    prepare_voicebank,
)

__all__ = [
    "VoiceBankManifest",
    "VoiceBankWindows",
    "check_voicebank_layout",
    "load_voicebank_pairs",
    "prepare_voicebank",
    "write_voicebank_demo",
]
