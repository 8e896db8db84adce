"""WaveNet: causality, the three sampling paths agreeing draw for draw, output distributions, checkpoints."""

import math

import numpy as np
import pytest
import torch

import wavegen
from wavegen.audio.features import mu_law_decode, mu_law_encode
from wavegen.audio.wavenet import WAVENET_CONFIGS, WaveNet
from wavegen.audio.wavenet.kernels import cpu as fused_cpu
from wavegen.audio.wavenet.kernels.packing import layer_conditioning, pack
from wavegen.audio.wavenet.sampling import generate
from wavegen.core.autoregressive import Categorical, DiscretizedLogisticMixture, make_draws, unigram_nll
from wavegen.core.checkpoint import save_checkpoint
from wavegen.errors import WavegenError

CONDITIONING = {
    "none": {},
    "speaker": {"speakers": 3},
    "mel": {"mel_channels": 5, "upsample_scales": [2, 2]},
    "speaker+mel": {"speakers": 2, "mel_channels": 5, "upsample_scales": [2, 2]},
}


def tiny(seed=0, **kwargs):
    torch.manual_seed(seed)
    return WaveNet(**{**WAVENET_CONFIGS["tiny"], **kwargs}).eval()


def inputs_for(model, batch, steps, seed=0):
    g = torch.Generator().manual_seed(seed)
    speaker = torch.randint(0, model.config["speakers"], (batch,), generator=g) if model.config["speakers"] else None
    mel = torch.randn(batch, 5, -(-steps // model.hop), generator=g) if model.mel else None
    return speaker, mel


def test_prediction_at_t_depends_only_on_the_receptive_field_before_t():
    model = tiny()
    x = torch.randint(0, 256, (1, 40))
    t = 30
    with torch.no_grad():
        base = model(x)
        for s in range(40):
            changed = x.clone()
            changed[0, s] = (changed[0, s] + 77) % 256
            moved = (model(changed) - base).abs()[0, :, t].max() > 0
            assert bool(moved) == (t - model.receptive_field <= s < t), s
    assert model.receptive_field == 2 + sum(model.dilations) == 8
    assert "receptive field 8 samples" in model.describe()


@pytest.mark.parametrize("kind", CONDITIONING)
def test_incremental_step_matches_teacher_forcing(kind):
    model = tiny(**CONDITIONING[kind])
    B, T = 2, 24
    x = torch.randint(0, 256, (B, T))
    speaker, mel = inputs_for(model, B, T)
    with torch.no_grad():
        cond = model.conditioning(B, speaker, mel)
        full = model(x, None if cond is None else cond.chunk(0, T))
        state = model.init_state(B, cond)
        previous = torch.full((B,), model.output.initial_input)
        for t in range(T):
            torch.testing.assert_close(model.step(state, previous, t), full[:, :, t], atol=1e-5, rtol=1e-5)
            previous = x[:, t]


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("kind", CONDITIONING)
def test_reference_cached_and_fused_paths_give_identical_samples(kind, batch):
    model = tiny(seed=1, **CONDITIONING[kind])
    T = 48
    speaker, mel = inputs_for(model, batch, T, seed=2)
    draws = make_draws(batch, T, 1, seed=3)
    runs = {path: generate(model, draws, speaker=speaker, mel=mel, path=path)
            for path in ("reference", "cached", "fused")}
    assert torch.equal(runs["reference"], runs["cached"])
    assert torch.equal(runs["cached"], runs["fused"])
    assert runs["fused"].unique().numel() > 3              # really sampling, not a constant


def test_paths_agree_at_lower_temperature_and_on_odd_channel_counts():
    model = tiny(seed=4, residual_channels=12, gate_channels=20, skip_channels=24, output_channels=20, bins=64)
    draws = make_draws(3, 40, 1, seed=5)
    cached = generate(model, draws, temperature=0.7, path="cached")
    assert torch.equal(generate(model, draws, temperature=0.7, path="reference"), cached)
    assert torch.equal(generate(model, draws, temperature=0.7, path="fused"), cached)
    assert not torch.equal(generate(model, draws, temperature=1.0, path="fused"), cached)


@pytest.mark.parametrize("threads, batch", [(1, 3), (2, 1), (2, 3), (3, 2), (2, 40)])
def test_fused_cpu_loop_agrees_however_the_work_is_split_across_threads(threads, batch):
    # Batches below 4 run on two pipelined threads (residual chain | skip, output, draw); larger ones split the batch.
    model = tiny(seed=10, residual_channels=48, gate_channels=96, skip_channels=80, output_channels=64, bins=128,
                 speakers=2)
    T = 40
    speaker, _ = inputs_for(model, batch, T)
    draws = make_draws(batch, T, 1, seed=11)
    cached = generate(model, draws, speaker=speaker, path="cached")
    with torch.no_grad():
        packed = pack(model)
        L, _, G, *_ = packed.sizes
        cond = layer_conditioning(model.conditioning(batch, speaker, None).chunk(0, T), L, G, batch)
        fused = fused_cpu.CpuSampler(packed, batch, threads=threads).run(draws[..., 0].numpy(), cond.numpy(), 1.0)
    assert np.array_equal(fused, cached.numpy())


def test_fused_cpu_loop_resumes_across_chunks():
    model = tiny(seed=6, **CONDITIONING["mel"])
    B, T = 2, 30
    _, mel = inputs_for(model, B, T)
    with torch.no_grad():
        cond = model.conditioning(B, None, mel)
        packed = pack(model)
        L, _, G, *_ = packed.sizes
        draws = make_draws(B, T, 1, seed=7)[..., 0].numpy()
        whole = fused_cpu.CpuSampler(packed, B).run(draws, layer_conditioning(cond.chunk(0, T), L, G, B).numpy(), 1.0)
        sampler = fused_cpu.CpuSampler(packed, B)
        parts = [sampler.run(draws[:, a:b], layer_conditioning(cond.chunk(a, b), L, G, B).numpy(), 1.0)
                 for a, b in ((0, 7), (7, 19), (19, 30))]
    assert (whole == np.concatenate(parts, axis=1)).all()


def test_logistic_mixture_wavenet_reference_and_cached_agree_and_fused_explains():
    model = tiny(seed=8, output="logistic_mixture", mixture_components=3)
    draws = make_draws(2, 30, 2, seed=9)
    cached = generate(model, draws, path="cached")
    torch.testing.assert_close(generate(model, draws, path="reference"), cached, atol=1e-4, rtol=0)
    assert cached.abs().max() <= 1.0 and cached.dtype == torch.float32
    with pytest.raises(WavegenError, match="categorical"):
        generate(model, draws, path="fused")


def test_a_longer_request_with_the_same_seed_starts_with_the_same_samples():
    model = tiny(seed=12)
    short = generate(model, make_draws(3, 20, 1, seed=4))
    long = generate(model, make_draws(3, 50, 1, seed=4))
    assert torch.equal(long[:, :20], short)


def test_sampling_rejects_bad_requests():
    model = tiny(**CONDITIONING["mel"])
    draws = make_draws(1, 40, 1, seed=0)
    with pytest.raises(WavegenError, match="cover 20 samples"):
        generate(model, draws, mel=torch.randn(1, 5, 5), path="cached")
    with pytest.raises(WavegenError, match="temperature"):
        generate(model, draws, mel=torch.randn(1, 5, 10), temperature=0.0)
    with pytest.raises(WavegenError, match="unknown sampling path"):
        generate(model, draws, mel=torch.randn(1, 5, 10), path="fast")


def test_categorical_draw_is_the_inverse_cdf_of_the_tempered_softmax():
    logits = torch.log(torch.tensor([[0.1, 0.2, 0.7]])).repeat(4, 1)
    u = torch.tensor([[0.05], [0.15], [0.31], [0.999]])
    assert Categorical(3).sample(logits, u).tolist() == [0, 1, 2, 2]
    # Temperature 0.5 squares the probabilities: (1, 4, 49) / 54, a CDF of (0.0185, 0.0926, 1).
    u = torch.tensor([[0.01], [0.05], [0.095]])
    assert Categorical(3).sample(logits[:3], u, temperature=0.5).tolist() == [0, 1, 2]


def test_logistic_mixture_is_a_normalised_distribution_over_its_levels():
    dist = DiscretizedLogisticMixture(components=2, bins=64)
    levels = torch.linspace(-1, 1, 64)
    params = torch.tensor([0.3, -0.2, 0.1, -0.5, -1.5, -2.0])[None, :, None].repeat(1, 1, 64)
    mass = torch.exp(-dist.nll(params, levels[None])).sum()
    assert abs(mass.item() - 1.0) < 1e-3
    # Samples land near the components' means.
    sample = dist.sample(params[:, :, 0].repeat(2000, 1), make_draws(2000, 1, 2, seed=0)[:, 0])
    assert abs(sample.mean().item() - (0.1 * math.exp(0.3) - 0.5 * math.exp(-0.2)) /
               (math.exp(0.3) + math.exp(-0.2))) < 0.05


def test_unigram_baseline_is_the_cross_entropy_of_smoothed_frequencies():
    train = torch.tensor([0, 0, 0, 1])
    test = torch.tensor([0, 1])
    # counts + 1 over 3 classes: (4, 2, 1) / 7
    expected = -(math.log(4 / 7) + math.log(2 / 7)) / 2
    assert unigram_nll(train, test, bins=3) == pytest.approx(expected)


def test_mu_law_round_trip_is_within_one_quantisation_step():
    x = torch.linspace(-1, 1, 2001)
    index = mu_law_encode(x)
    assert index.min() == 0 and index.max() == 255
    assert (mu_law_decode(index) - x).abs().max() < 0.025
    assert mu_law_encode(torch.tensor([0.0])).item() in (127, 128)


def test_checkpoint_round_trip_keeps_conditioning_and_speaker_names(tmp_path):
    model = tiny(speaker_names=["p225", "p226"], mel_channels=5, upsample_scales=[2, 2])
    path = save_checkpoint(tmp_path / "wn.safetensors", model, step=3)
    loaded = wavegen.load(path)
    assert isinstance(loaded, WaveNet) and loaded.config["speaker_names"] == ["p225", "p226"]
    speaker, mel = inputs_for(model, 2, 16)
    draws = make_draws(2, 16, 1, seed=0)
    assert torch.equal(generate(model, draws, speaker=speaker, mel=mel),
                       generate(loaded, draws, speaker=speaker, mel=mel))


# ---------------------------------------------------------------- wavegen sample: odd requests

def _sample(folder, **request):
    from wavegen.audio.wavenet.generate import SampleRequest, write_samples
    return write_samples(tiny(), folder, SampleRequest(**{"seconds": 0.002, "path": "cached", **request}))


def test_sample_overwrite_with_fewer_files_removes_the_rest_of_the_earlier_run_only(tmp_path):
    """--overwrite -n 1 over an -n 3 run left the two older files beside the new one."""
    _sample(tmp_path, count=3)
    for name in ("sample-seed0-t0.5-2.wav", "sample-seed1-2.wav", "p225-seed0-2.wav", "sample-seed0-2.flac"):
        (tmp_path / name).write_bytes(b"another run")
    again = _sample(tmp_path, count=1, overwrite=True)
    assert [p.name for p in again] == ["sample-seed0-0.wav"]
    assert [p.name for p in again.removed] == ["sample-seed0-1.wav", "sample-seed0-2.wav"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p225-seed0-2.wav", "sample-seed0-0.wav",
                                                          "sample-seed0-2.flac", "sample-seed0-t0.5-2.wav",
                                                          "sample-seed1-2.wav"]


@pytest.mark.parametrize("request_, message", [
    ({"temperature": math.inf}, "--temperature must be a positive number, got inf"),
    ({"temperature": math.nan}, "--temperature must be a positive number, got nan"),
    ({"count": 0}, "-n must be at least 1, got 0"),
    ({"count": -2}, "-n must be at least 1, got -2"),
    ({"seconds": math.inf}, "--seconds must be a positive number, got inf"),
    ({"count": 1001}, "more than 1000 samples or 1 GB of output in one run needs --many"),
    ({"seconds": 40000.0}, "-n 1: 1 sample (about 1.28 GB)"),
], ids=["inf", "nan", "zero", "negative", "endless", "many-files", "huge-file"])
def test_sample_refuses_odd_requests_in_one_line_before_any_work(tmp_path, request_, message):
    with pytest.raises(WavegenError) as refused:
        _sample(tmp_path / "out", **request_)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert not (tmp_path / "out").exists()


def test_sample_file_names_keep_a_speakers_letters(tmp_path):
    from wavegen.audio.wavenet.generate import SampleRequest, write_samples
    model = tiny(speakers=2, speaker_names=["Zoë", "a/b"])
    names = [write_samples(model, tmp_path, SampleRequest(seconds=0.002, path="cached", speaker=s))[0].name
             for s in ("Zoë", "a/b")]
    assert names == ["Zoë-seed0-0.wav", "a_b-seed0-0.wav"]
