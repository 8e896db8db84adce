"""One static HTML page to browse a samples folder without a server: a player and a spectrogram per file.

The page and everything it shows are written into one folder (audio and images
copied beside the page), so it opens from disk, can be zipped or put on any
static host, and never points back into the samples folder. Every file it is to
write is checked first: one that exists is replaced only with ``overwrite``. Files
of an earlier gallery that this one does not write are left alone (never
deleted) and the page does not show them.
"""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path

from wavegen.audio.io import AUDIO_EXTENSIONS, read_audio
from wavegen.audio.plots import save_spectrograms
from wavegen.core.files import copy_file_atomic, refuse_existing, write_text_atomic
from wavegen.errors import WavegenError
from wavegen.words import counted

_IMAGES = (".png", ".jpg", ".jpeg", ".gif", ".svg")
STYLE = """body{font-family:system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 1.5rem;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2rem}.item{margin:1rem 0}.files{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;background:#f6f6f4;padding:.5rem;border-radius:.3rem;max-width:34rem}
figure img{max-width:100%}figcaption{font-size:.9rem;margin-bottom:.3rem}audio{width:100%}
pre{background:#f6f6f4;padding:.6rem;white-space:pre-wrap;font-size:.85rem}"""


def write_gallery(samples: str | Path, out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``out_dir/index.html`` for every audio file and image under ``samples``; returns the page."""
    samples, out_dir = Path(samples), Path(out_dir)
    if not samples.is_dir():
        raise WavegenError(f"{samples}: no such samples folder")
    if out_dir.resolve().is_relative_to(samples.resolve()):
        raise WavegenError(f"{out_dir}: the gallery must be written outside the samples folder {samples}")
    files = [p for p in sorted(samples.rglob("*")) if p.is_file() and not p.name.startswith(".")
             and p.suffix.lower() in (*AUDIO_EXTENSIONS, *_IMAGES)]
    if not files:
        raise WavegenError(f"{samples}: no audio files or images to show")
    relative = {path: path.relative_to(samples).as_posix() for path in files}
    pictures = {path: f"spectrograms/{relative[path]}.png" for path in files
                if path.suffix.lower() in AUDIO_EXTENSIONS}
    planned = [out_dir / "index.html", *(out_dir / "media" / r for r in relative.values()),
               *(out_dir / p for p in pictures.values())]
    refuse_existing(planned, overwrite, instead="or another -o folder")
    groups: dict[str, list[Path]] = defaultdict(list)
    for path in files:
        groups[path.parent.relative_to(samples).as_posix()].append(path)
    body = [f"<h1>Samples: {html.escape(samples.resolve().name)}</h1>",
            f"<p>{counted(len(files), 'file')} in {counted(len(groups), 'folder')}. Spectrograms: log power, 0 to 8 kHz, 80 dB range.</p>"]
    for group, paths in groups.items():
        body.append(f"<h2>{html.escape(group if group != '.' else samples.resolve().name)}</h2>")
        readme = samples / group / "README.md"
        if readme.is_file():
            body.append(f"<pre>{html.escape(readme.read_text())}</pre>")
        body.append('<div class="files">')
        body += [_figure(path, relative[path], pictures.get(path), out_dir) for path in paths]
        body.append("</div>")
    page = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wavegen samples</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    return write_text_atomic(out_dir / "index.html", page)


def _figure(path: Path, relative: str, picture: str | None, out_dir: Path) -> str:
    """Copy one file (and draw its spectrogram, for audio) into ``out_dir``; its figure on the page."""
    copy_file_atomic(path, out_dir / "media" / relative)
    name, link = html.escape(path.name), html.escape(f"media/{relative}", quote=True)
    if picture is None:
        return f'<figure><figcaption>{name}</figcaption><img loading="lazy" alt="{name}" src="{link}"></figure>'
    audio, rate = read_audio(path)
    save_spectrograms(out_dir / picture, [(path.name, audio.mean(axis=0))], rate, max_hz=min(8000.0, rate / 2))
    seconds = audio.shape[1] / rate
    return (f'<figure><figcaption>{name} · {seconds:.2f} s · {rate} Hz</figcaption>'
            f'<audio controls preload="none" src="{link}"></audio>'
            f'<img loading="lazy" alt="spectrogram of {name}" src="{html.escape(picture, quote=True)}"></figure>')
