"""The gated PixelCNN: causality without a blind spot, the cached path against the plain one, learning."""

import math

import pytest
import torch

import wavegen
from wavegen.core.autoregressive import make_draws
from wavegen.core.checkpoint import save_checkpoint
from wavegen.errors import WavegenError
from wavegen.vision.pixelcnn import PixelCNN, PixelCNNTask, generate, quantize

SHAPE = [1, 6, 7]
# (image shape, levels, classes): grey binarised, grey 256 levels, colour, colour conditional.
CASES = [([1, 6, 7], 2, None), ([1, 5, 6], 256, None), ([3, 4, 5], 256, None), ([3, 4, 5], 8, ["a", "b", "c"]),
         ([1, 6, 7], 2, ["x", "y"])]


def tiny(shape=SHAPE, levels=2, classes=None, seed=0, **kwargs):
    torch.manual_seed(seed)
    config = dict(channels=8, layers=2, kernel=3, first_kernel=5, output_hidden=16)
    return PixelCNN(shape, levels, classes=classes, **{**config, **kwargs})


def labels_for(model, batch):
    return torch.arange(batch) % model.num_classes if model.num_classes else None


def gradient_map(model, output, y=None):
    """|∂ output(logits, record) / ∂ e| of a random input image e, (steps,) in step order."""
    C, H, W = model.image_shape
    e = (torch.rand(1, C, H, W, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    record = {}
    logits = model.logits_from_embedding(e, y, record)
    (grad,) = torch.autograd.grad(output(logits, record), e, allow_unused=True, materialize_grads=True)
    return model.flatten(grad.abs())[0]


def projected(features, r, c):
    """A fixed random projection of one position's feature vector: a scalar whose gradient we inspect."""
    weights = torch.linspace(-1, 1.3, features.shape[1], dtype=features.dtype)
    return (features[0, :, r, c] * weights).sum()


def steps_of(model, pixels):
    """Every step index of the given (r, c) pixels (all their channels)."""
    C, _, W = model.image_shape
    return [(r * W + c) * C + ch for r, c in pixels for ch in range(C)]


@pytest.mark.parametrize("shape,levels,classes", CASES)
def test_each_logit_depends_on_earlier_subpixels_only_and_has_no_blind_spot(shape, levels, classes):
    model = tiny(shape, levels, classes).double()
    C, H, W = model.image_shape
    a = model.config["first_kernel"] // 2
    y = torch.tensor([1]) if classes else None
    for t in [0, 1, C * W - 1, C * (W + 2), C * (2 * W + 3) + C - 1, model.steps - 1]:
        grad = gradient_map(model, lambda logits, _: projected(logits[..., None], t, 0), y)
        assert grad[t:].max() == 0, f"step {t} sees itself or the future"
        (r, c), ch = divmod(t // C, W), t % C
        # The first layer's field alone: a rows above (kernel width, up-right included) and a to the left.
        field = [(i, j) for i in range(max(0, r - 1 - a), r) for j in range(max(0, c - a), min(W, c + a + 1))]
        field += [(r, j) for j in range(max(0, c - a), c)]
        expected = steps_of(model, field) + [t - ch + k for k in range(ch)]        # and this pixel's channels < ch
        assert (grad[expected] > 0).all(), f"blind spot for step {t}"
        if r > 0 and c + 1 < W:
            assert grad[steps_of(model, [(r - 1, c + 1)])].min() > 0            # up and to the right


@pytest.mark.parametrize("classes", [None, ["a", "b"]])
@pytest.mark.parametrize("shape", [[1, 6, 7], [3, 5, 6]])
def test_the_vertical_stack_gives_the_horizontal_one_rows_above_only(shape, classes):
    model = tiny(shape, 16, classes).double()
    y = torch.tensor([0]) if classes else None
    _, H, W = model.image_shape
    for layer in range(len(model.gated)):
        for r, c in [(0, 3), (1, 0), (2, 3), (3, W - 1)]:
            grad = gradient_map(model, lambda _, rec: projected(rec["link"][layer], r, c), y)
            assert grad[steps_of(model, [(i, j) for i in range(r, H) for j in range(W)])].max() == 0
            if r > 0:      # the row above, straight up and up-right: no blind spot
                assert grad[steps_of(model, [(r - 1, c)] + [(r - 1, c + 1)] * (c + 1 < W))].min() > 0


@pytest.mark.parametrize("classes", [None, ["a", "b"]])
@pytest.mark.parametrize("shape", [[1, 6, 9], [3, 4, 9]])
def test_the_horizontal_stack_alone_sees_the_row_to_the_left(shape, classes):
    model = tiny(shape, 16, classes).double()
    with torch.no_grad():
        for layer in model.gated:
            layer.link.weight.zero_()          # cut the vertical stack off
    y = torch.tensor([1]) if classes else None
    _, H, W = model.image_shape
    a, b = model.config["first_kernel"] // 2, model.config["kernel"] // 2
    for layer in range(len(model.gated)):
        reach = a + layer * b                 # mask A: a pixels to the left; each mask-B layer b more
        for r, c in [(0, 0), (0, 4), (2, 8), (3, 5)]:
            grad = gradient_map(model, lambda _, rec: projected(rec["horizontal"][layer], r, c), y)
            seen = steps_of(model, [(r, j) for j in range(max(0, c - reach), c)])
            assert (grad[seen] > 0).all()
            unseen = torch.ones_like(grad, dtype=torch.bool)
            unseen[seen] = False
            assert grad[unseen].max() == 0


def test_mask_a_excludes_the_current_position_and_mask_b_includes_it():
    model = tiny([1, 5, 9], 16).double()
    first, later = model.gated[0], model.gated[1]
    a, b = first.kernel // 2, later.kernel // 2
    r, c = 2, 5

    def field(conv, channels):
        x = torch.randn(1, channels, 5, 9, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(projected(conv(x), r, c), x)
        return {tuple(position) for position in grad[0].abs().sum(0).nonzero().tolist()}

    assert field(first.horizontal_conv, 2) == {(r, j) for j in range(c - a, c)}                    # mask A
    assert field(later.horizontal_conv, 8) == {(r, j) for j in range(c - b, c + 1)}                # mask B
    assert field(later.vertical_conv, 8) == {(i, j) for i in range(r - b, r + 1) for j in range(c - b, c + b + 1)}


@pytest.mark.parametrize("shape,levels,classes", CASES)
def test_the_cached_step_gives_the_teacher_forced_logits(shape, levels, classes):
    model = tiny(shape, levels, classes, seed=1).eval()
    batch = 3
    x = torch.randint(0, levels, (batch, *model.image_shape))
    y = labels_for(model, batch)
    with torch.no_grad():
        logits = model(x, y)
        state, flat = model.init_state(batch, y), model.flatten(x)
        previous = torch.full((batch,), model.output.initial_input)
        for t in range(model.steps):
            torch.testing.assert_close(model.step(state, previous, t), logits[:, :, t], rtol=0, atol=1e-5)
            previous = flat[:, t]


@pytest.mark.parametrize("shape,levels,classes", CASES)
def test_cached_and_plain_paths_draw_the_same_images(shape, levels, classes):
    model = tiny(shape, levels, classes, seed=2).double()       # float64: no rounding flips a draw
    batch = 4
    y = labels_for(model, batch)
    for seed in range(3):
        draws = make_draws(batch, model.steps, 1, seed)
        temperature = 0.8 if seed == 2 else 1.0
        plain = generate(model, draws, y, path="plain", temperature=temperature)
        cached = generate(model, draws, y, path="cached", temperature=temperature)
        assert plain.shape == (batch, *model.image_shape) and plain.dtype == torch.long
        assert torch.equal(plain, cached)
        assert 0 <= plain.min() and plain.max() < levels and len(plain.unique()) > 1


def test_the_class_changes_the_output_and_labels_are_checked():
    model = tiny(levels=256, classes=["a", "b", "c"])
    x = torch.randint(0, 256, (2, *model.image_shape))
    assert not torch.allclose(model(x, torch.tensor([0, 0])), model(x, torch.tensor([1, 2])))
    draws = make_draws(2, model.steps, 1, 0)
    assert not torch.equal(generate(model, draws, torch.tensor([0, 0])), generate(model, draws, torch.tensor([1, 2])))
    with pytest.raises(WavegenError, match="class-conditional"):
        model(x)
    with pytest.raises(WavegenError, match="class-conditional"):
        generate(model, draws)
    with pytest.raises(WavegenError, match="integers in 0…2"):
        generate(model, draws, torch.tensor([0, 3]), path="plain")
    with pytest.raises(WavegenError, match=r"class-conditional \(3 classes\)"):
        model(x)
    with pytest.raises(WavegenError, match="must be 1 integer in 0…2"):          # not "1 integers"
        model(x[:1], torch.tensor([5]))
    unconditional = tiny()
    with pytest.raises(WavegenError, match="unconditional"):
        unconditional(x, torch.tensor([0, 1]))
    with pytest.raises(WavegenError, match="unconditional"):
        generate(unconditional, draws, torch.tensor([0, 1]))


def test_bad_paths_draws_and_configs_are_refused():
    model = tiny()
    with pytest.raises(WavegenError, match="unknown sampling path 'fused'"):
        generate(model, make_draws(1, model.steps, 1, 0), path="fused")
    with pytest.raises(WavegenError, match="draws must be"):
        generate(model, make_draws(1, model.steps - 1, 1, 0))
    with pytest.raises(WavegenError, match="shape"):
        model(torch.zeros(1, 1, 7, 6, dtype=torch.long))
    for bad in [dict(kernel=4), dict(first_kernel=1), dict(levels=1), dict(classes=["only"])]:
        with pytest.raises(ValueError):
            tiny(**{"levels": 2, **bad})


def test_quantize_rounds_levels_and_binarises_by_grey_level():
    grey = torch.tensor([0.0, 0.2, 0.5, 1.0]).view(1, 1, 2, 2)
    assert quantize(grey, 256).flatten().tolist() == [0, 51, 128, 255]
    assert quantize(grey, 256).dtype == torch.long
    ones = torch.full((1, 1, 100, 100), 0.3)
    binary = quantize(ones, 2, torch.Generator().manual_seed(0))
    assert set(binary.unique().tolist()) == {0, 1} and abs(binary.float().mean().item() - 0.3) < 0.03
    assert torch.equal(binary, quantize(ones, 2, torch.Generator().manual_seed(0)))
    assert torch.equal(quantize(torch.tensor([0.0, 1.0]), 2), torch.tensor([0, 1]))


def halves(batch, generator):
    """8×8 binary images: the left half on, or the right half, at random; labels say which."""
    labels = torch.randint(0, 2, (batch,), generator=generator)
    images = torch.zeros(batch, 1, 8, 8)
    images[labels == 0, :, :, :4] = 1.0
    images[labels == 1, :, :, 4:] = 1.0
    return images, labels


def test_a_tiny_model_learns_the_halves_far_below_the_uniform_likelihood():
    torch.manual_seed(0)
    model = PixelCNN([1, 8, 8], 2, channels=16, layers=2, kernel=3, first_kernel=5, output_hidden=32)
    generator = torch.Generator().manual_seed(0)
    task = PixelCNNTask(model, lr=1e-2, validation=[halves(64, generator)])
    uniform = model.steps * math.log(2)
    before = task.evaluate()["val_nll"] * model.steps
    for step in range(200):
        task.train_step(halves(32, generator), step)
    after = task.evaluate()["val_nll"] * model.steps
    # The data's entropy is log 2 nats per image (one fair choice); uniform pixels cost 64 log 2.
    assert before > 0.5 * uniform and after < 2.0, (before, after, uniform)
    images = generate(model, make_draws(16, model.steps, 1, 0))[:, 0]
    left, right = images[:, :, :4].flatten(1), images[:, :, 4:].flatten(1)
    left_on = (left == 1).all(1) & (right == 0).all(1)
    right_on = (left == 0).all(1) & (right == 1).all(1)
    assert (left_on | right_on).sum() >= 14 and left_on.any() and right_on.any()


def test_task_loss_is_the_mean_nll_per_subpixel_and_validation_is_fixed():
    model = tiny([1, 6, 7], 2, ["a", "b"])
    images, labels = torch.rand(5, 1, 6, 7), torch.randint(0, 2, (5,))
    task = PixelCNNTask(model, validation=[(images, labels)])
    levels, y = task.validation[0]
    assert levels.dtype == torch.long
    assert torch.equal(levels, quantize(images, 2, torch.Generator().manual_seed(0)))
    expected = model.nll(levels, y).mean() / model.steps
    torch.testing.assert_close(task.loss((levels, y)), expected)
    assert task.evaluate()["val_nll"] == pytest.approx(expected.item())
    assert task.evaluate() == task.evaluate()
    images_only = PixelCNNTask(tiny([1, 6, 7], 2))
    assert images_only.loss(images).shape == ()                  # unconditional: a batch of images alone


def test_checkpoint_round_trip_rebuilds_the_same_sampler(tmp_path):
    model = tiny([3, 4, 5], 256, ["cat", "dog"], seed=3)
    path = save_checkpoint(tmp_path / "pixelcnn.safetensors", model, step=7)
    loaded = wavegen.load(path)
    assert isinstance(loaded, PixelCNN) and loaded.config == model.config
    assert loaded.classes == ["cat", "dog"] and loaded.num_classes == 2 and loaded.steps == 60
    draws, y = make_draws(3, model.steps, 1, 5), torch.tensor([0, 1, 1])
    assert torch.equal(generate(model, draws, y), generate(loaded, draws, y))
