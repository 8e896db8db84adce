"""The GAN vocoder recipe refuses, before training, an LJSpeech it could not train on or compare with.

(The demo recipe end to end is in tests/audio/test_hifigan.py.)
"""

import pytest

from tests.speech_signals import ljspeech_corpus
from tests.support import assert_one_line
from wavegen.errors import WavegenError
from wavegen.recipes.hifigan import ljspeech


def test_two_clips_cannot_spare_the_test_utterances_and_nothing_is_written(tmp_path):
    corpus, exp = ljspeech_corpus(tmp_path / "LJSpeech-1.1", clips=2, seconds=0.5), tmp_path / "exp"
    with pytest.raises(WavegenError) as error:
        ljspeech.run(exp, corpus, [])
    assert_one_line(error, f"LJSpeech at {corpus}: data.test_utterances=100, but its 2 utterances of 1 speaker "
                           "can spare at most 1 for testing")
    with pytest.raises(WavegenError) as error:        # validation crops and the comparison come from them
        ljspeech.run(exp, corpus, ["data.test_utterances=0"])
    assert_one_line(error, "data.test_utterances must be at least 1, got 0")
    assert not exp.exists()


def test_too_few_segments_for_a_batch_are_refused_before_training(tmp_path):
    corpus, exp = ljspeech_corpus(tmp_path / "LJSpeech-1.1", clips=2, seconds=0.5), tmp_path / "exp"
    with pytest.raises(WavegenError) as error:
        ljspeech.run(exp, corpus, ["data.test_utterances=1", "train.crop_hop=8192"])
    assert_one_line(error, f"LJSpeech at {corpus}: its 1 training utterance gives 2 crops of "
                           "train.segment_samples=8192 samples, fewer than one batch (train.batch_size=16)")
    assert not (exp / "checkpoints").exists() and not (exp / "config.json").exists()


def test_a_test_clip_too_short_for_a_log_mel_spectrogram_is_refused_before_training(tmp_path):
    corpus, exp = ljspeech_corpus(tmp_path / "LJSpeech-1.1", clips=3, seconds=0.01), tmp_path / "exp"
    with pytest.raises(WavegenError) as error:         # it would crash the comparison, after training
        ljspeech.run(exp, corpus, ["data.test_utterances=1", "train.batch_size=2"])
    assert_one_line(error, f"LJSpeech at {corpus}: 1 test utterance (LJ001-", "is shorter than the 513 samples "
                           "(23 ms at 22050 Hz) a log-mel spectrogram (model.n_fft=1024) needs")
    assert not (exp / "checkpoints").exists()
