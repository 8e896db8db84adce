"""Listening tests: MUSHRA (ITU-R BS.1534-3), ACR/MOS (ITU-T P.800) and AB, served from a samples folder.

``design`` reads a test (a YAML/JSON file or a samples folder), ``prepare``
writes its results folder (stimuli, anchors), ``server`` serves it (Starlette +
uvicorn) and stores every answer in SQLite at once (``store``), ``report``
analyses the answers and ``gallery`` writes a static page of a samples folder.
"""

from __future__ import annotations

from pathlib import Path

from wavegen.core.files import write_text_atomic
from wavegen.errors import WavegenError
from wavegen.listen.design import check_design, load_design
from wavegen.listen.prepare import PreparedTest, is_results_folder, prepare_test
from wavegen.listen.report import analyse, format_report, plot_report
from wavegen.listen.store import AnswerStore, export_csv, read_csv


def open_test(source: str | Path, *, kind: str | None = None, results: str | Path | None = None,
              mid_anchor: bool = False):
    """The prepared test for ``source`` (a test file, a samples folder or a results folder), ready to serve."""
    source = Path(source)
    if is_results_folder(source):
        test = PreparedTest.open(source)
        if kind and kind != test.type:
            raise WavegenError(f"{source}: holds a {test.type.upper()} test, not {kind.upper()}")
        return test
    design = load_design(source, kind)
    if mid_anchor and not design.mid_anchor:
        design.mid_anchor = True
        check_design(design)                # one more stimulus per trial: still at most 12?
    return prepare_test(design, results or Path("listen-results") / f"{design.name}-{design.type}")


def answers_of(results: str | Path) -> tuple[list[dict], str]:
    """(answer rows, test name) from a results folder or an answers CSV."""
    results = Path(results)
    if is_results_folder(results):
        test = PreparedTest.open(results)
        if not test.database.exists():
            raise WavegenError(f"{results}: no answers yet")
        return [{**row, "type": test.type} for row in AnswerStore(test.database).rows()], test.name
    if results.is_file():
        return read_csv(results), results.stem
    raise WavegenError(f"{results}: expected a listening-test results folder or an answers CSV")


def write_report(results: str | Path, out_dir: str | Path | None = None) -> tuple[str, list[Path]]:
    """Analyse the answers; write report.txt, report.png (and, for a results folder, the answers CSV)."""
    results = Path(results)
    rows, name = answers_of(results)
    if not rows:
        raise WavegenError(f"{results}: no answers to report on")
    if out_dir is None:
        out_dir = results if results.is_dir() else results.with_name(f"{results.stem}-report")
    out_dir = Path(out_dir)
    report = analyse(rows)
    text = format_report(report)
    written = [write_text_atomic(out_dir / "report.txt", text + "\n"),
               plot_report(report, out_dir / "report.png", title=f"listening test: {name}")]
    if is_results_folder(results):
        test = PreparedTest.open(results)
        written.append(export_csv(AnswerStore(test.database), out_dir / f"answers-{test.type}.csv",
                                  test=test.name, kind=test.type))
    return text, written
