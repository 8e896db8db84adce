"""Checkpoints: one safetensors file with a JSON header, never a pickle.

Layout of a checkpoint file:

- tensors: the model's ``state_dict`` under its own names, plus (for training
  checkpoints) optimiser state under the reserved prefix ``__train__/``;
- metadata ``"wavegen"``: a JSON header ``{"format", "model", "config",
  "sample_rate", "step", "version", "sha256", ...}``.

``sha256`` covers the header and every tensor's name, dtype, shape and bytes,
so a file that was truncated, edited or stitched together is refused with a
clear error instead of producing a silently different model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from wavegen.core.files import atomic_output
from wavegen.core.registry import get_model_class, registered_names
from wavegen.errors import CheckpointError
from wavegen.version import __version__

FORMAT = "wavegen-checkpoint/1"
HEADER_KEY = "wavegen"
TRAIN_PREFIX = "__train__/"


def save_checkpoint(path: str | Path, model: nn.Module, *, step: int = 0,
                    train_tensors: dict[str, torch.Tensor] | None = None,
                    train_state: dict[str, Any] | None = None, selection: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (and optional training state) atomically to ``path``.

    ``selection`` records why these weights were published (the metric, which way
    is better, the step and its value) when they are not simply the last ones.
    """
    path = Path(path)
    tensors = {name: t.detach().cpu().contiguous().clone() for name, t in model.state_dict().items()}
    for name, t in (train_tensors or {}).items():
        tensors[TRAIN_PREFIX + name] = t.detach().cpu().contiguous().clone()
    header = {
        "format": FORMAT,
        "model": getattr(model, "registry_name", type(model).__name__),
        "family": getattr(model, "family", None),
        "config": getattr(model, "config", {}),
        "sample_rate": getattr(model, "sample_rate", None),
        "step": int(step),
        "version": __version__,
    }
    if train_state is not None:
        header["train_state"] = train_state
    if selection is not None:
        header["selection"] = selection
    header["sha256"] = _digest(header, tensors)
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata={HEADER_KEY: json.dumps(header)})
    return path


def read_checkpoint(path: str | Path, *, verify: bool = True
                    ) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The header and all tensors of a checkpoint, after checking that it is intact."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(path, "is a folder, not a checkpoint file (e.g. exp/segan-demo/model.safetensors)")
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint file")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except CheckpointError:
        raise
    except Exception:
        raise CheckpointError(path, "not a readable checkpoint (truncated, or not a safetensors file)") from None
    if HEADER_KEY not in metadata:
        raise CheckpointError(path, "not a wavegen checkpoint (its safetensors metadata has no wavegen header)")
    try:
        header = json.loads(metadata[HEADER_KEY])
    except json.JSONDecodeError:
        raise CheckpointError(path, "the wavegen header is not valid JSON (file edited or damaged)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(path, f"unsupported checkpoint format {header.get('format') if isinstance(header, dict) else header!r}")
    if verify:
        expected = header.get("sha256")
        body = {k: v for k, v in header.items() if k != "sha256"}
        if expected != _digest(body, tensors):
            raise CheckpointError(path, "checksum mismatch: the file was modified or damaged after it was written")
    return header, tensors


def load(path: str | Path, *, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the model stored in a checkpoint from that file alone (in eval mode).

    The model's class must be registered (:mod:`wavegen.core.registry`): importing
    :mod:`wavegen.models`, as ``import wavegen`` does, registers every model wavegen has.
    """
    path = Path(path)
    header, tensors = read_checkpoint(path)
    try:
        cls = get_model_class(header["model"], header.get("config", {}))
    except KeyError:
        raise CheckpointError(path, f"unknown model {header.get('model')!r} (this wavegen knows "
                              f"{', '.join(registered_names())})") from None
    try:
        model = cls(**header.get("config", {}))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(path, f"config does not fit model {header['model']!r}: {exc}") from None
    weights, _ = split_tensors(tensors)
    try:
        missing, unexpected = model.load_state_dict(weights, strict=False)
    except RuntimeError as exc:          # shapes that differ from the config's model
        first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise CheckpointError(path, f"weights do not match model {header['model']!r}: {first}") from None
    if missing or unexpected:
        raise CheckpointError(path, f"weights do not match model {header['model']!r} "
                              f"(missing {len(missing)}, unexpected {len(unexpected)} tensors)")
    return model.to(device).eval()


def split_tensors(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(model weights, training-state tensors with the ``__train__/`` prefix stripped)."""
    weights = {k: v for k, v in tensors.items() if not k.startswith(TRAIN_PREFIX)}
    train = {k[len(TRAIN_PREFIX):]: v for k, v in tensors.items() if k.startswith(TRAIN_PREFIX)}
    return weights, train


def _digest(header: dict[str, Any], tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for name in sorted(tensors):
        t = tensors[name]
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


# --- nested state (optimiser state_dicts) <-> tensors + JSON, without pickling -------------

def flatten_state(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in a nested dict/list structure by a reference into ``tensors``."""
    if isinstance(obj, torch.Tensor):
        key = f"{prefix}#{len(tensors)}"
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[k, flatten_state(v, prefix, tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [flatten_state(v, prefix, tensors) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a checkpoint")


def unflatten_state(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten_state`."""
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        return {k: unflatten_state(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [unflatten_state(v, tensors) for v in obj]
    return obj
