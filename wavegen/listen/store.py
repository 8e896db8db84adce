"""Answers in SQLite, each committed the moment it is given, and their CSV export.

One row per (participant, trial, stimulus): a later answer to the same stimulus
replaces the earlier one (a participant moving a slider again), so however many
times and however concurrently answers arrive, each is stored once. A trial is
marked complete when the participant moves on; a returning participant resumes
at their first incomplete trial. Every row says whether its trial was completed
(the CSV's ``completed`` column): a report counts only completed trials. The
database is in WAL mode with full synchronisation: a killed server or a closed
browser loses nothing committed.
"""

from __future__ import annotations

import csv
import io
import math
import sqlite3
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

from wavegen.core.files import write_text_atomic
from wavegen.errors import WavegenError
from wavegen.listen.design import TYPES

SCHEMA = """
CREATE TABLE IF NOT EXISTS participants (
    participant TEXT PRIMARY KEY,
    started_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    participant TEXT NOT NULL,
    trial TEXT NOT NULL,
    stimulus TEXT NOT NULL,
    system TEXT NOT NULL,
    score REAL,
    choice TEXT,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (participant, trial, stimulus)
);
CREATE TABLE IF NOT EXISTS completed (
    participant TEXT NOT NULL,
    trial TEXT NOT NULL,
    completed_at TEXT NOT NULL,
    PRIMARY KEY (participant, trial)
);
"""
CSV_COLUMNS = ("test", "type", "participant", "trial", "system", "score", "choice", "answered_at", "completed")
OPTIONAL_COLUMNS = {"test", "answered_at", "completed"}   # a hand-made CSV without "completed": all complete
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class AnswerStore:
    """The answers of one test; every method opens its own connection, so threads never share one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self):
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=30000")
            yield db

    def begin(self, participant: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO participants VALUES (?, ?)", (participant, _now()))

    def answer(self, participant: str, trial: str, stimulus: str, system: str, *,
               score: float | None = None, choice: str | None = None) -> bool:
        """Store (or replace) one answer; False when the trial is already complete and nothing was stored."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("SELECT 1 FROM completed WHERE participant=? AND trial=?",
                              (participant, trial)).fetchone():
                    db.execute("ROLLBACK")
                    return False
                db.execute("INSERT OR IGNORE INTO participants VALUES (?, ?)", (participant, _now()))
                db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(participant, trial, "
                           "stimulus) DO UPDATE SET score=excluded.score, choice=excluded.choice, "
                           "answered_at=excluded.answered_at",
                           (participant, trial, stimulus, system, score, choice, _now()))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return True

    def complete(self, participant: str, trial: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO completed VALUES (?, ?, ?)", (participant, trial, _now()))

    def answers_of(self, participant: str) -> dict[str, dict[str, dict]]:
        """{trial: {stimulus: {"score", "choice"}}} given so far by one participant."""
        found: dict[str, dict[str, dict]] = {}
        with self._connect() as db:
            for trial, stimulus, score, choice in db.execute(
                    "SELECT trial, stimulus, score, choice FROM answers WHERE participant=?", (participant,)):
                found.setdefault(trial, {})[stimulus] = {"score": score, "choice": choice}
        return found

    def completed_by(self, participant: str) -> set[str]:
        with self._connect() as db:
            return {t for (t,) in db.execute("SELECT trial FROM completed WHERE participant=?", (participant,))}

    def rows(self) -> list[dict]:
        """Every answer, ordered by participant, trial and system; ``completed``: was its trial completed?"""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            return [{**r, "completed": bool(r["completed"])} for r in db.execute(
                "SELECT a.participant, a.trial, a.system, a.score, a.choice, a.answered_at, "
                "c.trial IS NOT NULL AS completed FROM answers a LEFT JOIN completed c "
                "ON a.participant = c.participant AND a.trial = c.trial "
                "ORDER BY a.participant, a.trial, a.system")]


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets a quote (OWASP's CSV advice)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def from_spreadsheet_safe(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA_START) else text


def export_csv(store: AnswerStore, path: str | Path, *, test: str, kind: str) -> Path:
    """All answers as CSV (every field quoted, text fields made formula-safe), written atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in store.rows():
        score = "" if row["score"] is None else f"{row['score']:g}"
        writer.writerow([spreadsheet_safe(test), kind, spreadsheet_safe(row["participant"]),
                         spreadsheet_safe(row["trial"]), spreadsheet_safe(row["system"]), score,
                         spreadsheet_safe(row["choice"] or ""), row["answered_at"],
                         "yes" if row["completed"] else "no"])
    return write_text_atomic(path, buffer.getvalue())


def read_csv(path: str | Path) -> list[dict]:
    """Rows of an exported (or hand-made) answers CSV, text fields as given to the test."""
    path = Path(path)
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            missing = set(CSV_COLUMNS) - OPTIONAL_COLUMNS - set(reader.fieldnames or [])
            if missing:
                raise WavegenError(f"{path}: not an answers CSV: missing columns {', '.join(sorted(missing))}")
            rows = []
            for line, row in enumerate(reader, start=2):
                text = {k: from_spreadsheet_safe(row.get(k) or "")
                        for k in ("participant", "trial", "system", "choice")}
                rows.append({**text, "type": _kind(path, line, row["type"]),
                             "score": _score(path, line, row["score"]),
                             "completed": _completed(path, line, row.get("completed"))})
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise WavegenError(f"{path}: cannot read the answers ({exc})") from None


def _kind(path: Path, line: int, value: str | None) -> str:
    if value not in TYPES:
        raise WavegenError(f"{path}: line {line}: type {value!r} is not one of {', '.join(TYPES)}")
    return value


def _score(path: Path, line: int, value: str | None) -> float | None:
    if value in ("", None):
        return None
    try:
        score = float(value)
    except ValueError:
        score = math.nan
    if not math.isfinite(score):
        raise WavegenError(f"{path}: line {line}: score {value!r} is not a number")
    return score


def _completed(path: Path, line: int, value: str | None) -> bool:
    """The ``completed`` column: yes / no; a CSV without it counts every answer as completed."""
    if value is None or value.strip().lower() in ("yes", "true", "1", ""):
        return True
    if value.strip().lower() in ("no", "false", "0"):
        return False
    raise WavegenError(f"{path}: line {line}: completed {value!r}: expected yes or no")
