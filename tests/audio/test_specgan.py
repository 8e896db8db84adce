"""SpecGAN and WaveGAN: shapes, the spectrogram normalisation, Griffin-Lim, phase shuffle, WGAN-GP steps."""

import numpy as np
import pytest
import torch

import wavegen
from wavegen.audio.features import griffin_lim, spectral_convergence
from wavegen.audio.specgan.model import LOG_FLOOR, SpecGAN
from wavegen.audio.clip_gan import AudioGANTask
from wavegen.audio.wavegan.model import WaveGAN, phase_shuffle
from wavegen.core.checkpoint import save_checkpoint
from wavegen.core.gan import GANStepConfig, GANTask, gradient_penalty


def _speech_like(seconds: float = 1.024, rate: int = 16000, seed: int = 0) -> torch.Tensor:
    """A gliding harmonic tone with a syllable envelope and a little noise: real spectral structure."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 40 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(h * phase) / h for h in range(1, 25))
    envelope = np.clip(np.sin(2 * np.pi * 2 * t), 0, None) ** 2
    audio = 0.1 * envelope * voiced + 0.003 * rng.standard_normal(t.size)
    return torch.tensor(audio, dtype=torch.float32)


@pytest.mark.parametrize("cls, shape", [(SpecGAN, (3, 1, 128, 128)), (WaveGAN, (3, 1, 16384))])
def test_generators_and_discriminators_have_the_papers_shapes(cls, shape):
    model = cls(model_size=2)
    z = model.sample_latent(3)
    assert z.shape == (3, 100) and z.min() >= -1 and z.max() <= 1
    fake = model.generator(z)
    assert fake.shape == shape and fake.abs().max() <= 1
    assert model.discriminator(fake).shape == (3, 1)
    assert model.to_audio(fake).shape == (3, 16384)


def test_paper_sizes_match_donahue_et_al():
    """d = 64: WaveGAN's generator has about 19 M parameters (the paper's tables 2-3 give the layer shapes)."""
    with torch.device("meta"):
        wave, spec = WaveGAN(), SpecGAN()
    assert wave.generator.layers[0].weight.shape == (1024, 512, 25)
    assert spec.generator.layers[0].weight.shape == (1024, 512, 5, 5)
    assert 18e6 < sum(p.numel() for p in wave.generator.parameters()) < 20e6


def test_normalise_then_denormalise_is_the_identity_within_clipping():
    model = SpecGAN(model_size=2)
    audio = torch.stack([_speech_like(seed=s) for s in range(4)])[:, :16384]
    logmag = model.log_magnitude(audio)
    assert logmag.shape == (4, 128, 128)
    model.set_statistics(logmag)
    image = model.normalise(logmag)
    assert image.shape == (4, 1, 128, 128) and image.abs().max() <= 1
    back = model.denormalise(image)
    z = (logmag - model.log_mean[:, None]) / model.log_std[:, None]
    inside = z.abs() < 3
    assert inside.float().mean() > 0.9
    torch.testing.assert_close(back[inside], logmag[inside], atol=1e-4, rtol=1e-5)
    # Outside ±3 std the value is clipped to the bound.
    bound = model.log_mean[:, None] + 3 * model.log_std[:, None] * z.sign()
    torch.testing.assert_close(back[~inside], bound.expand_as(z)[~inside], atol=1e-4, rtol=1e-5)


def test_statistics_travel_in_the_checkpoint(tmp_path):
    model = SpecGAN(model_size=2)
    model.set_statistics(model.log_magnitude(torch.stack([_speech_like(seed=s)[:16384] for s in range(2)])))
    save_checkpoint(tmp_path / "m.safetensors", model)
    loaded = wavegen.load(tmp_path / "m.safetensors")
    torch.testing.assert_close(loaded.log_mean, model.log_mean)
    torch.testing.assert_close(loaded.log_std, model.log_std)
    assert not torch.allclose(model.log_std, torch.ones(128))


def test_griffin_lim_reaches_a_stated_spectral_convergence():
    """16 iterations (the paper's) bring a real spectrum's convergence below 0.25; 100 below 0.12."""
    audio = _speech_like()[:16384]
    window = torch.hann_window(256)
    magnitude = torch.stft(audio, 256, 128, window=window, return_complex=True).abs()
    results = {}
    for iterations in (16, 100):
        rebuilt = griffin_lim(magnitude, 256, 128, iterations, length=audio.numel())
        results[iterations] = spectral_convergence(
            torch.stft(rebuilt, 256, 128, window=window, return_complex=True).abs(), magnitude)
    assert results[16] < 0.25 and results[100] < 0.12 and results[100] < results[16]


def test_specgan_inverts_a_real_clip_back_to_audio():
    model = SpecGAN(model_size=2)
    audio = _speech_like()[:16384].unsqueeze(0)
    model.set_statistics(model.log_magnitude(audio))
    rebuilt = model.to_audio(model.features(audio))
    assert rebuilt.shape == (1, 16384)
    ours = model.log_magnitude(rebuilt).exp() - LOG_FLOOR
    theirs = model.log_magnitude(audio).exp() - LOG_FLOOR
    assert spectral_convergence(ours, theirs) < 0.35
    # A spectrogram too loud for full scale comes back scaled to a 0.99 peak, not clipped.
    loud = model.to_audio(model.normalise(model.log_magnitude(audio) + 3.0))
    assert loud.abs().max() == pytest.approx(0.99, abs=1e-6) and (loud.abs() >= 0.999).sum() == 0


def test_phase_shuffle_moves_each_example_and_reflects_at_the_edges():
    x = torch.arange(10.0).repeat(64, 3, 1)                         # (64, 3, 10), channel copies
    torch.manual_seed(0)
    y = phase_shuffle(x, 2)
    assert y.shape == x.shape
    seen = set()
    for row in y[:, 0]:
        k = int(row[5] - 5) * -1                                    # y[t] = x[t - k]
        seen.add(k)
        index = (torch.arange(10) - k).abs()                        # reflection at the start ...
        index = torch.where(index > 9, 18 - index, index)           # ... and at the end
        assert torch.equal(row, x[0, 0, index])
    assert seen == {-2, -1, 0, 1, 2}
    assert torch.equal(y[:, 0], y[:, 2])                            # one shift per example, every channel
    assert torch.equal(phase_shuffle(x, 0), x)


def test_gradient_penalty_on_a_hand_computed_critic():
    """D(x) = w·x has gradient w everywhere: the penalty is (‖w‖ − 1)² whatever the interpolates."""
    w = torch.tensor([3.0, 4.0])
    critic = lambda x: x @ w                                        # noqa: E731
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(16.0)
    unit = lambda x: x @ (w / 5)                                    # noqa: E731
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_each_critic_update_takes_its_own_real_minibatch():
    seen = []

    class Recorder(GANTask):
        def split(self, batch):
            return batch, None

        def generate(self, condition):
            return self.generator(torch.zeros(4, 1))

        def discriminate(self, x, condition):
            seen.append(x.detach().clone())
            return self.discriminator(x)

    g, d = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    task = Recorder(None, g, d, torch.optim.SGD(g.parameters(), 0.1), torch.optim.SGD(d.parameters(), 0.1),
                    GANStepConfig(objective="wgan_gp", d_steps=3, fresh_real=True))
    batch = torch.arange(12.0).view(12, 1)
    task.train_step(batch, 0)
    reals = [x for x in seen if x.shape == (4, 1) and (x >= 0).all() and torch.equal(x, x.round())]
    starts = sorted({float(x[0]) for x in reals})
    assert starts == [0.0, 4.0, 8.0]
    with pytest.raises(ValueError, match="does not split"):
        task.train_step(torch.zeros(10, 1), 1)


@pytest.mark.parametrize("cls", [SpecGAN, WaveGAN])
def test_wgan_gp_steps_train_both_networks(cls):
    torch.manual_seed(0)
    model = cls(model_size=2)
    audio = torch.stack([_speech_like(seed=s)[:16384] for s in range(10)])
    if cls is SpecGAN:
        model.set_statistics(model.log_magnitude(audio))
    task = AudioGANTask(model, d_steps=5, validation=audio[:4])
    before_g = [p.clone() for p in model.generator.parameters()]
    # The critic's output bias cancels in E[D(real)] − E[D(fake)] and the penalty: it never moves.
    critic = [p for name, p in model.discriminator.named_parameters() if name != "score.bias"]
    before_d = [p.clone() for p in critic]
    logs = task.train_step((audio, torch.zeros(10, dtype=torch.long)), 0)
    assert {"d_loss", "g_adv", "d_real", "d_fake"} <= set(logs) and all(np.isfinite(list(logs.values())))
    assert all(not torch.equal(a, b) for a, b in zip(before_g, model.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(before_d, critic))
    assert "val_wasserstein" in task.evaluate()


def test_generated_audio_is_reproducible_from_the_seed():
    model = WaveGAN(model_size=2).eval()
    a, b, c = model.generate_audio(5, seed=3), model.generate_audio(5, seed=3), model.generate_audio(5, seed=4)
    assert a.shape == (5, 16384) and torch.equal(a, b) and not torch.allclose(a, c)
    # The batch size changes only how the same draws are grouped.
    torch.testing.assert_close(model.generate_audio(5, seed=3, batch_size=2), a)


@pytest.mark.parametrize("kwargs, message", [({"n_fft": 512}, "128 x 128"), ({"model_size": 0}, "model_size")])
def test_specgan_refuses_impossible_shapes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpecGAN(**kwargs)


def test_wavegan_refuses_a_clip_its_layers_cannot_make():
    with pytest.raises(ValueError, match="16384"):
        WaveGAN(clip_samples=16000)
