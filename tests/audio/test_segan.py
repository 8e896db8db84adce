"""SEGAN model: the paper's shapes, generator and discriminator contracts, the fast path."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from wavegen.audio.segan import SEGAN, SEGAN_CONFIGS
from wavegen.audio.segan.model import PAPER_CHANNELS, conv1d_as_matmul, conv_transpose1d_as_matmul
from wavegen.core.registry import get_model_class


@pytest.fixture(scope="module")
def paper():
    torch.manual_seed(0)
    return SEGAN()


@pytest.fixture()
def tiny():
    torch.manual_seed(0)
    return SEGAN.from_name("tiny")


def noisy_batch(model, batch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 0.3 * torch.randn(batch, 1, model.window, generator=g)


def test_paper_configuration_is_the_default(paper):
    assert paper.window == 16384 and paper.sample_rate == 16000 and paper.preemph == 0.95
    assert SEGAN.family == "gan" and get_model_class("segan") is SEGAN
    G = paper.generator
    assert len(G.encoder) == 11 and len(G.decoder) == 11
    assert [layer.conv.out_channels for layer in G.encoder] == list(PAPER_CHANNELS)
    for layer in G.encoder:
        assert layer.conv.kernel_size == (31,) and layer.conv.stride == (2,)
    for layer in G.decoder:
        assert layer.deconv.kernel_size == (31,) and layer.deconv.stride == (2,)
    # Mirrored decoder: out channels 512 ... 16, 1; inputs doubled by the skip connections.
    assert [layer.deconv.out_channels for layer in G.decoder] == [*PAPER_CHANNELS[-2::-1], 1]
    assert [layer.deconv.in_channels for layer in G.decoder] == [2048] + [2 * c for c in PAPER_CHANNELS[-2::-1]]
    assert all(isinstance(act, nn.PReLU) for act in G.encoder_act)
    assert G.latent_shape(16384) == (1024, 8)
    D = paper.discriminator
    assert [conv.conv.in_channels for conv in D.convs][0] == 2 and len(D.convs) == 11
    assert D.to_one_channel.kernel_size == (1,) and D.fc.in_features == 8


def test_paper_bottleneck_is_1024_by_8(paper):
    h = torch.zeros(1, 1, 16384)
    with torch.inference_mode():
        for conv, act in zip(paper.generator.encoder, paper.generator.encoder_act):
            h = act(conv(h))
    assert h.shape == (1, 1024, 8)


def test_config_is_json_and_rebuilds_the_model():
    for name, overrides in SEGAN_CONFIGS.items():
        model = SEGAN.from_name(name)
        config = json.loads(json.dumps(model.config))
        assert config == SEGAN(**config).config
        assert {k: config[k] for k in overrides} == {k: (list(v) if isinstance(v, tuple) else v)
                                                     for k, v in overrides.items()}
        assert model.window % 2 ** len(config["channels"]) == 0


def test_generator_output_shape_and_range(tiny):
    x = noisy_batch(tiny)
    y = tiny.generator(x)
    assert y.shape == x.shape
    assert y.abs().max() <= 1.0                      # tanh output
    longer = torch.randn(2, 1, 3 * tiny.window)      # any multiple of 2**num_layers
    assert tiny.generator(longer).shape == longer.shape
    with pytest.raises(ValueError, match="multiple"):
        tiny.generator(torch.randn(1, 1, tiny.window + 1))


def test_residual_generator_starts_as_the_identity_and_learns_a_correction():
    model = SEGAN.from_name("tiny", residual=True)
    x = noisy_batch(model)
    assert torch.equal(model.generator(x), x)
    loss = (model.generator(x) - 0.5 * x).abs().mean()
    loss.backward()
    assert model.generator.decoder[-1].deconv.weight.grad.abs().sum() > 0
    assert SEGAN.from_name("small").config["residual"] and not SEGAN().config["residual"]


def test_latent_is_used_and_reproducible(tiny):
    x = noisy_batch(tiny)
    z1, z2 = (tiny.generator.sample_latent(3, tiny.window, torch.Generator().manual_seed(s)) for s in (1, 2))
    assert z1.shape == (3, *tiny.generator.latent_shape(tiny.window))
    assert torch.equal(tiny.generator(x, z1), tiny.generator(x, z1))
    assert not torch.allclose(tiny.generator(x, z1), tiny.generator(x, z2))
    a = tiny.generator(x, generator=torch.Generator().manual_seed(7))
    b = tiny.generator(x, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_discriminator_logits_per_example_do_not_depend_on_the_batch(tiny):
    clean, noisy = noisy_batch(tiny, 5, seed=1), noisy_batch(tiny, 5, seed=2)
    reference = torch.cat([noisy_batch(tiny, 4, seed=3), noisy_batch(tiny, 4, seed=4)], dim=1)
    logits = tiny.discriminator(clean, noisy, reference)
    assert logits.shape == (5,)
    alone = torch.stack([tiny.discriminator(clean[i:i + 1], noisy[i:i + 1], reference)[0] for i in range(5)])
    torch.testing.assert_close(logits, alone, rtol=1e-5, atol=1e-5)
    # Swapping the candidate changes the logit (D looks at both channels).
    assert not torch.allclose(logits, tiny.discriminator(noisy, noisy, reference))


def test_gradients_flow_through_generator_and_discriminator(tiny):
    clean, noisy = noisy_batch(tiny, 4, seed=1), noisy_batch(tiny, 4, seed=2)
    reference = torch.cat([clean, noisy], dim=1)
    fake = tiny.generator(noisy)
    d_loss = ((tiny.discriminator(clean, noisy, reference) - 1) ** 2).mean() \
        + (tiny.discriminator(fake.detach(), noisy, reference) ** 2).mean()
    d_loss.backward()
    g_loss = ((tiny.discriminator(fake, noisy, reference) - 1) ** 2).mean() + 100 * F.l1_loss(fake, clean)
    tiny.discriminator.zero_grad()
    g_loss.backward()
    for name, p in tiny.generator.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    for name, p in tiny.discriminator.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_fast_path_matches_plain_modules_tiny(tiny):
    x = noisy_batch(tiny, 4)
    z = tiny.generator.sample_latent(4, tiny.window, torch.Generator().manual_seed(0))
    with torch.inference_mode():
        plain = tiny.generator(x, z)
        fast = tiny.enhance_windows(x, z)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-6)


def test_fast_path_matches_plain_modules_paper(paper):
    x = noisy_batch(paper, 1)
    z = paper.generator.sample_latent(1, paper.window, torch.Generator().manual_seed(0))
    with torch.inference_mode():
        plain = paper.generator(x, z)
        fast = paper.enhance_windows(x, z)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("length", [8, 16, 30])
def test_matmul_forms_equal_the_convolutions(length):
    torch.manual_seed(0)
    conv = nn.Conv1d(6, 5, 31, stride=2, padding=15)
    deconv = nn.ConvTranspose1d(6, 5, 31, stride=2, padding=15, output_padding=1)
    x = torch.randn(3, 6, length)
    torch.testing.assert_close(conv1d_as_matmul(x, conv), conv(x), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(conv_transpose1d_as_matmul(x, deconv), deconv(x), rtol=1e-5, atol=1e-6)


def test_unknown_configuration_name():
    with pytest.raises(KeyError, match="tiny"):
        SEGAN.from_name("huge")


def test_training_options_add_the_stft_term_and_remix_the_input(tiny):
    from wavegen.audio.segan.train import SEGANTask
    g = torch.Generator().manual_seed(5)
    clean = 0.2 * torch.randn(4, tiny.window, generator=g)
    noisy = clean + 0.05 * torch.randn(4, tiny.window, generator=g)
    reference = torch.stack([clean, noisy], dim=1)
    paper = SEGANTask(tiny, reference)
    assert paper.split((clean, noisy))[1].equal(paper._prepare(noisy))          # the paper's pairs as they are
    assert "stft" not in paper.train_step((clean, noisy), 0)

    task = SEGANTask(tiny, reference, stft_weight=2.0, remix=1.0, remix_gain_db=(-6.0, -6.0))
    _, condition = task.split((clean, noisy))
    assert not condition.equal(task._prepare(noisy))
    logs = task.train_step((clean, noisy), 0)
    assert logs["stft"] > 0 and logs["g_loss"] == pytest.approx(logs["g_adv"] + logs["l1"] + logs["stft"], rel=1e-4)


def test_segan_plus_generator_shapes_gradients_and_fast_path():
    # SEGAN+: stride-4 layers and skip connections summed with learnt gains.
    torch.manual_seed(0)
    plus = SEGAN(window=1024, channels=[4, 8, 16, 32], stride=4, skip="sum", residual=True)
    assert plus.generator.decimation == 256
    assert plus.generator.latent_shape(1024) == (32, 4)
    x = noisy_batch(plus, 3)
    z = plus.generator.sample_latent(3, plus.window, torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p in plus.generator.decoder[-1].parameters():       # leave the identity start
            p.normal_(0, 0.01)
    out = plus.generator(x, z)
    assert out.shape == x.shape
    out.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in plus.generator.skip_gains)
    with torch.inference_mode():
        torch.testing.assert_close(plus.enhance_windows(x, z), plus.generator(x, z), rtol=1e-5, atol=1e-6)
    assert plus.discriminator(out.detach(), x, torch.cat([x, x], dim=1)).shape == (3,)
    with pytest.raises(ValueError, match="multiple of stride 4"):
        SEGAN(window=1000, channels=[4, 8], stride=4)


def test_the_attenuation_limit_travels_with_the_weights_and_old_checkpoints_have_none(tmp_path):
    import wavegen
    from wavegen.core.checkpoint import save_checkpoint
    model = SEGAN.from_name("tiny")
    assert model.attenuation_limit_db is None
    model.attenuation_limit_db = 10.0
    assert float(model.noisy_mix) == pytest.approx(10 ** (-0.5))
    assert model.attenuation_limit_db == pytest.approx(10.0)
    x, z = torch.randn(2, 1, 256), model.generator.sample_latent(2, 256)
    m = float(model.noisy_mix)
    torch.testing.assert_close(model.enhance_windows(x, z), (1 - m) * model.generator(x, z) + m * x)
    loaded = wavegen.load(save_checkpoint(tmp_path / "m.safetensors", model))
    assert loaded.attenuation_limit_db == pytest.approx(10.0)
    old = {k: v for k, v in model.state_dict().items() if k != "noisy_mix"}     # written before the limit existed
    fresh = SEGAN.from_name("tiny")
    fresh.attenuation_limit_db = 6.0
    fresh.load_state_dict(old)
    assert fresh.attenuation_limit_db is None
    for bad in (0.0, -3.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="positive number of dB"):
            model.attenuation_limit_db = bad


def test_validation_keeps_the_attenuation_limit_with_the_best_min_gain(tmp_path):
    from wavegen.audio.validation import UtteranceValidation
    torch.manual_seed(0)
    model = SEGAN.from_name("tiny", residual=True)
    with torch.no_grad():                      # a generator that damages the speech: mixing the input back helps
        for p in model.generator.parameters():
            p.add_(0.03 * torch.randn_like(p))
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    clean = [(0.3 * np.sin(2 * np.pi * f * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)
             for f in (180, 260)]
    utterances = [(c, (c + 0.05 * rng.standard_normal(c.shape)).astype(np.float32)) for c in clean]
    validation = UtteranceValidation(utterances, model.sample_rate, attenuation_limits_db=(12.0, 6.0))
    scores = validation(model, "cpu")
    gains = {}
    for limit in (None, 12.0, 6.0):
        model.attenuation_limit_db = limit
        gains[limit] = validation.scores_as_enhanced(model, "cpu")["min_gain"]
    best = max(gains, key=gains.get)
    assert scores["val_min_gain"] == pytest.approx(gains[best])
    validation(model, "cpu")
    assert model.attenuation_limit_db == (None if best is None else pytest.approx(best))
    assert scores["val_noisy_mix"] == pytest.approx(0.0 if best is None else 10 ** (-best / 20))
    assert best is not None                    # this generator is worse than its input
    with pytest.raises(ValueError, match="validation utterances"):
        UtteranceValidation([], model.sample_rate, attenuation_limits_db=(6.0,))
