"""Dataset readers, one per real on-disk layout, and embedded demo corpora written in those layouts.

- :mod:`wavegen.data.voicebank`: VoiceBank-DEMAND (Valentini-Botinhao et al. 2016) ->
  a 16 kHz cache, a manifest and SEGAN-style training windows.
- :mod:`wavegen.data.demo`: demo corpora in the VoiceBank-DEMAND, VCTK and LJSpeech layouts,
  spoken by a text-to-speech engine (:mod:`wavegen.data.speech`).
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
