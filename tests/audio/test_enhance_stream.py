"""Streaming enhancement: how windows are tiled, and the bfloat16 copy of the generator."""

import numpy as np
import pytest
import scipy.signal
import torch

from tests.speech_signals import read_wav as read
from tests.speech_signals import write_wav as write
from wavegen.audio.enhance import enhance_file, enhance_waveform
from wavegen.audio.enhance_stream import DC_BLOCK_HZ, HALF_OVERLAP, Tiling
from wavegen.audio.segan import SEGAN
from wavegen.errors import WavegenError


@pytest.mark.parametrize("tiling", [HALF_OVERLAP, Tiling(), Tiling(trim=0.125, fade=0.0),
                                    Tiling(trim=0.0, fade=0.25, shape="linear")])
def test_every_tiling_puts_each_sample_back_where_it_was(tmp_path, tiling):
    # A residual generator starts as the identity (its last layer is zero): whatever the tiling,
    # every output sample must be its input sample with weights summing to one, and the file
    # streamed in odd blocks must equal the whole (the windows are aligned to the file's start).
    torch.manual_seed(0)
    identity = SEGAN.from_name("tiny", residual=True)
    src = write(tmp_path / "in.wav", 1.3, 16000, subtype="FLOAT")
    audio = read(src)[0][:, 0]
    out = enhance_waveform(identity, audio, 16000, tiling=tiling).numpy()
    reference = enhance_waveform(identity, audio, 16000, tiling=Tiling(trim=0.0, fade=0.5, shape="linear")).numpy()
    np.testing.assert_allclose(out, reference, atol=1e-6)
    # Pre- and de-emphasis cancel around an identity generator, leaving the DC blocker alone.
    r = 1 - 2 * np.pi * DC_BLOCK_HZ / 16000
    np.testing.assert_allclose(out, scipy.signal.lfilter([1.0, -1.0], [1.0, -r], audio), atol=1e-5)
    streamed = read(enhance_file(identity, src, tmp_path / "out.wav", block_seconds=0.37, tiling=tiling))[0][:, 0]
    np.testing.assert_allclose(streamed, out, atol=1e-6)


def test_impossible_tilings_are_refused():
    for bad in (dict(trim=-0.1), dict(trim=0.3, fade=0.3), dict(trim=0.5, fade=0.0), dict(shape="box")):
        with pytest.raises(WavegenError, match="tiling"):
            Tiling(**bad)


def test_bfloat16_enhances_as_float32_does_within_its_rounding(tmp_path):
    torch.manual_seed(0)
    trained_like = SEGAN.from_name("tiny", residual=True)
    with torch.no_grad():                      # a generator that changes its input, not the identity
        for p in trained_like.generator.parameters():
            p.add_(0.05 * torch.randn_like(p))
    audio = read(write(tmp_path / "in.wav", 1.5, 16000, subtype="FLOAT"))[0][:, 0]
    exact = enhance_waveform(trained_like, audio, 16000, precision="float32").numpy()
    fast = enhance_waveform(trained_like, audio, 16000, precision="bfloat16").numpy()
    assert not np.array_equal(exact, fast)
    error_db = 10 * np.log10(np.sum((fast - exact) ** 2) / np.sum(exact ** 2))
    assert error_db < -35, error_db
    np.testing.assert_array_equal(fast, enhance_waveform(trained_like, audio, 16000, precision="bfloat16").numpy())
    with pytest.raises(WavegenError, match="precision"):
        enhance_waveform(trained_like, audio, 16000, precision="half")


def test_the_bfloat16_copy_follows_every_change_of_the_weights(tmp_path):
    # Training's validation enhances between optimiser steps: a cached copy must never be stale.
    torch.manual_seed(0)
    net = SEGAN.from_name("tiny", residual=True)
    audio = read(write(tmp_path / "in.wav", 0.5, 16000, subtype="FLOAT"))[0][:, 0]
    before = enhance_waveform(net, audio, 16000, precision="bfloat16").numpy()
    with torch.no_grad():
        net.generator.decoder[-1].deconv.bias.add_(0.1)          # in place, as an optimiser step
    after = enhance_waveform(net, audio, 16000, precision="bfloat16").numpy()
    assert np.abs(after - before).max() > 0.01
    net.load_state_dict(SEGAN.from_name("tiny", residual=True).state_dict())   # the identity again
    again = enhance_waveform(net, audio, 16000, precision="bfloat16").numpy()
    np.testing.assert_allclose(again, enhance_waveform(net, audio, 16000, precision="float32").numpy(), atol=1e-6)
