import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

import wavegen
from wavegen.core.checkpoint import (flatten_state, read_checkpoint, save_checkpoint,
                                     unflatten_state)
from wavegen.errors import CheckpointError
from tests.toy import ToyGAN


def test_load_rebuilds_model_from_file_alone(tmp_path):
    model = ToyGAN(dim=3, hidden=5)
    path = save_checkpoint(tmp_path / "m.safetensors", model, step=42)
    loaded = wavegen.load(path)
    assert isinstance(loaded, ToyGAN) and loaded.config == {"dim": 3, "hidden": 5}
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    header, _ = read_checkpoint(path)
    assert header["model"] == "toy-gan" and header["step"] == 42
    assert header["version"] == wavegen.__version__ and header["family"] == "gan"


def test_truncated_file_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "m.safetensors", ToyGAN())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        wavegen.load(path)


def test_tampered_weights_are_refused(tmp_path):
    path = save_checkpoint(tmp_path / "m.safetensors", ToyGAN())
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF                      # flip bits inside the last tensor's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        wavegen.load(path)


def test_foreign_safetensors_and_pickles_are_refused(tmp_path):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a wavegen checkpoint"):
        wavegen.load(foreign)

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        wavegen.load(evil)
    with pytest.raises(CheckpointError, match="no such"):
        wavegen.load(tmp_path / "missing.safetensors")


def test_unknown_model_name_is_a_clear_error(tmp_path):
    model = ToyGAN()
    model.registry_name = "no-such-model"
    path = save_checkpoint(tmp_path / "m.safetensors", model)
    with pytest.raises(CheckpointError, match="unknown model 'no-such-model'"):
        wavegen.load(path)


def test_optimizer_state_round_trips_without_pickle():
    model = ToyGAN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.9))
    model.generator(torch.randn(2, 4)).sum().backward()
    opt.step()
    tensors = {}
    flat = flatten_state(opt.state_dict(), "opt", tensors)
    restored = unflatten_state(json.loads(json.dumps(flat)), tensors)
    opt2 = torch.optim.Adam(model.parameters(), lr=1.0)
    opt2.load_state_dict(restored)
    assert opt2.param_groups[0]["lr"] == 1e-3
    assert list(opt2.param_groups[0]["betas"]) == [0.5, 0.9]
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert s1.keys() == s2.keys()
    for k in s1:
        assert torch.equal(s1[k]["exp_avg"], s2[k]["exp_avg"])


def test_written_files_get_normal_permissions(tmp_path):
    import os
    mask = os.umask(0o022)
    try:
        path = save_checkpoint(tmp_path / "m.safetensors", ToyGAN())
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
