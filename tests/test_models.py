"""The model catalogue (wavegen.models) and declared capabilities: what a checkpoint can do, and saying so."""

from __future__ import annotations

import pytest
import torch

import wavegen
from tests.support import wavegen_cli
from wavegen.audio.capabilities import ClipGenerator, Enhancer, Vocoder
from wavegen.audio.hifigan.model import VOCODER_CONFIGS, HiFiGAN
from wavegen.audio.segan.model import SEGAN, SEGAN_CONFIGS
from wavegen.audio.wavegan.model import WaveGAN
from wavegen.audio.wavenet.model import WAVENET_CONFIGS, WaveNet
from wavegen.core.capabilities import Sampler, capabilities, require
from wavegen.core.checkpoint import save_checkpoint
from wavegen.errors import WavegenError
from wavegen.models import MODELS
from wavegen.vision.cgan import CGAN
from wavegen.vision.cvae import CVAE
from wavegen.vision.dcgan import DCGAN
from wavegen.vision.vae import VAE


def test_each_model_declares_what_it_can_do():
    assert capabilities(SEGAN(**SEGAN_CONFIGS["tiny"])) == ["enhance"]
    assert capabilities(WaveNet(**WAVENET_CONFIGS["tiny"])) == ["sample"]          # not mel-conditioned
    assert capabilities(WaveNet(**WAVENET_CONFIGS["tiny"], mel_channels=80, upsample_scales=(16, 16),
                                sample_rate=22050)) == ["sample", "vocode"]
    assert capabilities(HiFiGAN(**VOCODER_CONFIGS["tiny"])) == ["vocode", "sample"]
    assert issubclass(WaveGAN, ClipGenerator) and issubclass(ClipGenerator, Sampler)
    assert not issubclass(SEGAN, Sampler) and not issubclass(WaveNet, Enhancer)


def test_a_missing_capability_is_one_line_naming_what_the_model_can_do():
    with pytest.raises(WavegenError) as error:
        require(SEGAN(**SEGAN_CONFIGS["tiny"]), Vocoder, "model.safetensors")
    assert str(error.value) == "model.safetensors: a segan checkpoint cannot vocode; it can enhance"


def test_every_model_is_in_the_catalogue_under_its_registered_name():
    assert set(MODELS) == {"segan", "wavenet", "specgan", "wavegan", "hifigan", "audio_classifier", "vae", "cvae",
                           "ssvae", "dcgan", "cgan", "pixelcnn", "image_classifier"}
    assert all(cls.registry_name == name for name, cls in MODELS.items())


OLDER_NAMES = [  # (model as it is now, the name checkpoints of it were written under before)
    (lambda: HiFiGAN(**VOCODER_CONFIGS["tiny"]), "gan_vocoder"),
    (lambda: VAE(), "image_vae"),
    (lambda: CVAE(classes=["a", "b"]), "image_vae"),
    (lambda: DCGAN(width=8), "image_gan"),
    (lambda: CGAN(width=8, classes=["a", "b"]), "image_gan"),
]


@pytest.mark.parametrize("build, older", OLDER_NAMES, ids=["hifigan", "vae", "cvae", "dcgan", "cgan"])
def test_a_checkpoint_written_under_an_older_name_still_loads_as_its_model(tmp_path, build, older):
    """hifigan was gan_vocoder; vae and cvae were both image_vae, dcgan and cgan image_gan (told by their config)."""
    torch.manual_seed(0)
    model = build()
    now = save_checkpoint(tmp_path / "now.safetensors", model)
    model.registry_name = older                    # what the earlier release wrote into the header
    before = save_checkpoint(tmp_path / "before.safetensors", model)
    loaded = wavegen.load(before)
    assert type(loaded) is type(model) and loaded.registry_name == type(model).registry_name
    torch.testing.assert_close(loaded.state_dict(), wavegen.load(now).state_dict())


@pytest.mark.parametrize("command", [["vocode", "in.wav", "-o", "out.wav"], ["sample", "-o", "out"],
                                     ["enhance", "in.wav", "-o", "out"]])
def test_commands_refuse_a_checkpoint_that_cannot_do_it_in_one_line(tmp_path, command):
    model = SEGAN(**SEGAN_CONFIGS["tiny"]) if command[0] != "enhance" else WaveNet(**WAVENET_CONFIGS["tiny"])
    checkpoint = save_checkpoint(tmp_path / "model.safetensors", model)
    (tmp_path / "in.wav").write_bytes(b"")
    run = wavegen_cli(command[0], "-c", str(checkpoint), *command[1:], cwd=tmp_path)
    verb = {"vocode": "vocode", "sample": "sample", "enhance": "enhance"}[command[0]]
    can = "sample" if command[0] == "enhance" else "enhance"
    assert run.returncode == 1
    assert run.stderr.strip() == f"error: {checkpoint}: a {model.registry_name} checkpoint cannot {verb}; it can {can}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "model.safetensors"]
