"""SEGAN recipes: VoiceBank-DEMAND and the generated demo corpus."""
