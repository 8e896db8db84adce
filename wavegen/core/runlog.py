"""A training run's logs: ``train.csv``, ``eval.csv`` and TensorBoard events in ``exp_dir/logs``.

The CSV files grow a row at a time, and safely:

- a row is formatted whole and goes down in one unbuffered append (a single ``os.write``
  on an ``O_APPEND`` descriptor), so a crash leaves the rows before it intact and at most
  a partial last line;
- opening the logs repairs each file: a partial last line is dropped, and so are the rows
  after the step the run resumes from (what the interrupted run logged after its last
  checkpoint, which the resumed run logs again), so the log has each step once. That
  rewrite, and the header of a new file, go through :func:`wavegen.core.files.atomic_output`.

The TensorBoard event files are ``SummaryWriter``'s own appends; it drops the events after
the resumed step itself (``purge_step``).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from wavegen.core.files import atomic_output

KINDS = ("train", "eval")


class RunLogs:
    """CSV files and TensorBoard events; rows after ``resume_step`` (from a killed run) are dropped."""

    def __init__(self, folder: Path, resume_step: int):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.columns: dict[str, list[str]] = {}
        for kind in KINDS:
            repair_csv(folder / f"{kind}.csv", resume_step)
        try:
            from torch.utils.tensorboard import SummaryWriter   # slow to import: only when a run logs
            self.tb = SummaryWriter(str(folder / "tensorboard"), purge_step=resume_step or None)
        except ImportError:  # tensorboard is a dependency, but logs must not stop training
            self.tb = None

    def write(self, kind: str, step: int, values: dict[str, float], elapsed: float) -> None:
        path = self.folder / f"{kind}.csv"
        row = {"step": step, "elapsed_s": round(elapsed, 3), **values}
        if kind not in self.columns:
            if path.exists() and path.stat().st_size:
                with path.open(newline="", encoding="utf-8") as f:
                    self.columns[kind] = next(csv.reader(f))
            else:
                self.columns[kind] = list(row)
                _write_csv_atomic(path, [self.columns[kind]])
        append_csv_row(path, [row.get(c, "") for c in self.columns[kind]])
        if self.tb:
            for name, value in values.items():
                self.tb.add_scalar(f"{kind}/{name}", value, step)

    def close(self) -> None:
        if self.tb:
            self.tb.close()


def append_csv_row(path: Path, row: list) -> None:
    """Append ``row`` to the CSV file ``path`` as one complete line, in one write call, unbuffered."""
    line = io.StringIO(newline="")
    csv.writer(line).writerow(row)
    data = line.getvalue().encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        while data:                             # one call unless the disk is full (then repair_csv cleans up)
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def repair_csv(path: Path, last_step: int) -> None:
    """Drop a partial last line (a crash while appending) and the rows after ``last_step``.

    The header stays. The file is rewritten, atomically, only when something is dropped.
    """
    if not path.exists():
        return
    data = path.read_bytes()
    complete = data[:data.rfind(b"\n") + 1]     # up to the end of the last whole line; b"" if none
    rows = list(csv.reader(io.StringIO(complete.decode("utf-8"), newline="")))
    kept = rows[:1] + [r for r in rows[1:] if r and int(r[0]) <= last_step]
    if complete != data or kept != rows:
        _write_csv_atomic(path, kept)


def _write_csv_atomic(path: Path, rows: list[list]) -> None:
    with atomic_output(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
