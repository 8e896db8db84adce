"""WaveNet recipes: LJSpeech (mel-conditioned vocoder), VCTK (speaker-conditioned) and the generated demo."""
