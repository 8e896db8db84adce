"""What a listening test found: scores with 95 % confidence intervals, post-screening, AB preferences.

Only completed trials count: the answers of a trial a participant left half-done
(rows whose ``completed`` is false) are left out, and the report says how many
such trials there were.

- MUSHRA (ITU-R BS.1534-3): assessors who rate the hidden reference below 90 in
  more than 15 % of the trials they rated it are excluded (§4.1.2, post-screening),
  and the report names them and why; then per system the mean over every
  remaining (assessor, trial) rating with a Student-t 95 % interval (§9.3).
- ACR (ITU-T P.800): the mean opinion score per system, the same interval.
- AB: per pair of systems, each one's share of the choices, the two-sided exact
  binomial test against no preference (p = 0.5) and the Clopper–Pearson interval.
- ABX: per pair, the share of trials where X was identified, the one-sided exact
  binomial test against guessing (can listeners tell the two apart?) and the
  Clopper–Pearson interval.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from wavegen.core.files import save_figure
from wavegen.listen.design import HIDDEN_REFERENCE
from wavegen.words import counted

REFERENCE_FLOOR, SCREENING_SHARE = 90.0, 0.15


@dataclass
class Report:
    scores: list[dict] = field(default_factory=list)        # {type, system, n, mean, low, high}
    preferences: list[dict] = field(default_factory=list)   # {pair, first, second, n, first_count, share, low, high, p}
    identification: list[dict] = field(default_factory=list)  # {pair, n, correct, share, low, high, p}
    excluded: dict[str, str] = field(default_factory=dict)  # participant → reason
    participants: int = 0
    incomplete: int = 0                                     # (participant, trial) pairs left half-done


def mean_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval; the bounds are NaN below two values."""
    from scipy.stats import t
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan, math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def post_screening(rows: list[dict]) -> dict[str, str]:
    """BS.1534-3 post-screening of MUSHRA rows: {participant: why excluded}."""
    rated: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if row["type"] == "mushra" and row["system"] == HIDDEN_REFERENCE and row["score"] is not None:
            rated[row["participant"]].append(row["score"])
    excluded = {}
    for participant, scores in rated.items():
        low = sum(s < REFERENCE_FLOOR for s in scores)
        if low > SCREENING_SHARE * len(scores):
            excluded[participant] = (f"rated the hidden reference below {REFERENCE_FLOOR:g} in {low} of "
                                     f"{counted(len(scores), 'trial')} ({100 * low / len(scores):.0f} % > "
                                     f"{100 * SCREENING_SHARE:.0f} %)")
    return excluded


def completed_rows(rows: list[dict]) -> tuple[list[dict], int]:
    """(the rows of completed trials, how many (participant, trial) were left incomplete); no flag: complete."""
    complete = [r for r in rows if r.get("completed", True)]
    return complete, len({(r["participant"], r["trial"]) for r in rows if not r.get("completed", True)})


def analyse(rows: list[dict]) -> Report:
    from scipy.stats import binomtest
    rows, incomplete = completed_rows(rows)
    report = Report(excluded=post_screening(rows), participants=len({r["participant"] for r in rows}),
                    incomplete=incomplete)
    kept = [r for r in rows if r["participant"] not in report.excluded]
    by_system: dict[tuple[str, str], list[float]] = defaultdict(list)
    choices: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    identified: dict[str, list[float]] = defaultdict(list)
    for row in kept:
        if row["type"] == "abx":
            if row["score"] is not None:
                identified[row["system"]].append(row["score"])
        elif row["type"] == "ab":
            if row["choice"]:
                choices[row["system"]][row["choice"]] += 1
        elif row["score"] is not None:
            by_system[(row["type"], row["system"])].append(row["score"])
    for (kind, system), values in sorted(by_system.items()):
        mean, low, high = mean_interval(values)
        report.scores.append({"type": kind, "system": system, "n": len(values), "mean": mean, "low": low,
                              "high": high})
    for pair, counts in sorted(choices.items()):
        systems = pair.split(" vs ") if " vs " in pair else sorted(counts)
        first, second = (systems + [""])[:2]
        n, k = sum(counts.values()), counts.get(first, 0)
        test = binomtest(k, n, 0.5)
        ci = test.proportion_ci(confidence_level=0.95, method="exact")
        report.preferences.append({"pair": pair, "first": first, "second": second, "n": n, "first_count": k,
                                   "share": k / n, "low": ci.low, "high": ci.high, "p": test.pvalue})
    for pair, correct in sorted(identified.items()):
        n, k = len(correct), int(sum(correct))
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        report.identification.append({"pair": pair, "n": n, "correct": k, "share": k / n, "low": ci.low,
                                      "high": ci.high, "p": binomtest(k, n, 0.5, alternative="greater").pvalue})
    return report


def format_report(report: Report) -> str:
    lines = [f"{counted(report.participants, 'participant')}, {len(report.excluded)} excluded by post-screening"]
    if report.incomplete:
        lines.append(f"{counted(report.incomplete, 'incomplete trial')} left out (answered in part, never "
                     f"completed)")
    for participant, why in sorted(report.excluded.items()):
        lines.append(f"  excluded {participant!r}: {why}")
    if report.scores:
        lines += ["", f"{'test':<7} {'system':<24} {'n':>5} {'mean':>7}  95 % interval"]
        for s in report.scores:
            interval = "–" if math.isnan(s["low"]) else f"[{s['low']:.1f}, {s['high']:.1f}]"
            decimals = 2 if s["type"] == "acr" else 1
            lines.append(f"{s['type']:<7} {s['system']:<24} {s['n']:>5} {s['mean']:>7.{decimals}f}  {interval}")
    if report.preferences:
        lines += ["", f"{'AB pair':<34} {'n':>5}  preferred first  95 % interval   binomial p"]
        for p in report.preferences:
            lines.append(f"{p['pair']:<34} {p['n']:>5}  {p['first']} {100 * p['share']:5.1f} %    "
                         f"[{100 * p['low']:.1f}, {100 * p['high']:.1f}] %  {p['p']:.4f}")
    if report.identification:
        lines += ["", f"{'ABX pair':<34} {'n':>5}  X identified  95 % interval   p (vs guessing)"]
        for p in report.identification:
            lines.append(f"{p['pair']:<34} {p['n']:>5}  {100 * p['share']:6.1f} %     "
                         f"[{100 * p['low']:.1f}, {100 * p['high']:.1f}] %  {p['p']:.4f}")
    return "\n".join(lines)


def plot_report(report: Report, path: str | Path, title: str = "") -> Path:
    """Scores with their intervals (one panel per rating test) and AB shares, as one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    kinds = sorted({s["type"] for s in report.scores})
    panels = len(kinds) + bool(report.preferences) + bool(report.identification)
    figure, axes = plt.subplots(1, max(panels, 1), figsize=(5.5 * max(panels, 1), 3.8), squeeze=False)
    axes = iter(axes[0])
    for kind in kinds:
        ax = next(axes)
        rows = [s for s in report.scores if s["type"] == kind]
        means = [s["mean"] for s in rows]
        errors = [[0 if math.isnan(s["low"]) else s["mean"] - s["low"] for s in rows],
                  [0 if math.isnan(s["high"]) else s["high"] - s["mean"] for s in rows]]
        ax.errorbar(means, range(len(rows)), xerr=errors, fmt="o", capsize=4, color="#2b6cb0")
        ax.set_yticks(range(len(rows)), [s["system"] for s in rows])
        ax.set_xlim(*((0, 100) if kind == "mushra" else (1, 5)))
        ax.set_xlabel("MUSHRA score (mean, 95 % interval)" if kind == "mushra" else "MOS (mean, 95 % interval)")
        ax.grid(axis="x", alpha=0.3)
        ax.invert_yaxis()
    if report.preferences:
        _shares(next(axes), report.preferences,
                [f"{p['first']} | {p['second']}\n(p = {p['p']:.3f})" for p in report.preferences],
                "preference share, % (left system, 95 % interval)")
    if report.identification:
        _shares(next(axes), report.identification,
                [f"{p['pair']}\n(p = {p['p']:.3f})" for p in report.identification],
                "X identified, % (95 % interval; 50 = guessing)")
    return save_figure(figure, path, title=title)


def _shares(ax, rows: list[dict], labels: list[str], xlabel: str) -> None:
    """Horizontal bars of a share (%) and its complement, with the interval and a line at 50 %."""
    shares = [100 * p["share"] for p in rows]
    ax.barh(range(len(rows)), shares, height=0.5, color="#2f855a")
    ax.barh(range(len(rows)), [100 - s for s in shares], left=shares, height=0.5, color="#c05621")
    ax.errorbar(shares, range(len(rows)), xerr=[[s - 100 * p["low"] for s, p in zip(shares, rows)],
                                               [100 * p["high"] - s for s, p in zip(shares, rows)]],
                fmt="none", color="k", capsize=4)
    ax.axvline(50, color="k", lw=0.8, ls=":")
    ax.set_yticks(range(len(rows)), labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.invert_yaxis()
