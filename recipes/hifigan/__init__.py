"""GAN vocoder recipes (HiFi-GAN style): LJSpeech and the generated LJSpeech-layout demo."""
