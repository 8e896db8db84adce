"""Draw the docs' pictures: a demo utterance as clean, noisy and (given a demo experiment) enhanced.

    python docs/figures.py                                 # clean and noisy rows
    python docs/figures.py --exp exp/segan-demo            # plus what the demo's SEGAN made of it

Writes ``docs/demo-spectrogram.png``. The utterance comes from the VoiceBank-DEMAND
demo corpus: the test set of the default seed is written to a scratch folder (the
same audio ``make demo`` writes), or read from the experiment's own corpus.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from wavegen.audio.io import read_audio, resample
from wavegen.audio.plots import save_spectrograms
from wavegen.data.demo import write_voicebank_demo

RATE = 16_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exp", type=Path, help="a finished `wavegen recipe segan --data demo` experiment")
    parser.add_argument("--utterance", default="p257_002", help="test utterance to draw (default: p257_002)")
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).with_name("demo-spectrogram.png"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        corpus = args.exp / "corpus" if args.exp else write_voicebank_demo(
            Path(scratch), train_speakers=1, train_utterances_per_speaker=1, test_utterances_per_speaker=10)
        name = args.utterance
        conditions = dict(line.split(" ", 1) for line in (corpus / "log_testset.txt").read_text().splitlines())
        transcript = (corpus / "testset_txt" / f"{name}.txt").read_text().strip()
        rows = [(f"clean: {transcript!r}", _at_rate(corpus / "clean_testset_wav" / f"{name}.wav")),
                (f"noisy: {conditions[name].replace(' ', ' noise at ')} dB SNR",
                 _at_rate(corpus / "noisy_testset_wav" / f"{name}.wav"))]
        if args.exp:
            rows.append(("enhanced by the demo's SEGAN", _at_rate(args.exp / "enhanced" / f"{name}.wav")))
        path = save_spectrograms(args.output, rows, RATE, title=f"VoiceBank-DEMAND demo, test utterance {name} "
                                                                f"(spoken by eSpeak NG), 0-8 kHz, 80 dB range")
    print(f"wrote {path}")
    return 0


def _at_rate(path: Path):
    audio, rate = read_audio(path)
    return resample(audio[0], rate, RATE).numpy()


if __name__ == "__main__":
    sys.exit(main())
