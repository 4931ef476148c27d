"""The backtest report as one standalone HTML page: tables and inline SVG charts.

No script and no dependency: the page opens anywhere, offline, and can be
attached to a ticket.  Two charts per report: **cumulative gains** (the share
of all positives found in the best-scored 10 %, 20 %, ...; the diagonal is a
random ranking, and the lift of a decile is its height over the diagonal) and
**calibration** (observed conversion against the predicted probability; the
diagonal is a perfectly calibrated score), for the strategies whose scores read
as probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

__all__ = ["page"]

#: Colour per strategy, in order (readable on white, distinct for colour-blind readers).
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
_SIZE, _PAD = 320, 40

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.75rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.best { font-weight: bold; }
figure { display: inline-block; margin: 0 2rem 1rem 0; }
figcaption { font-size: 0.9rem; color: #555; }
"""


def page(title: str, sections: Sequence[tuple[str, Any]]) -> str:
    """The HTML page of one or more backtest reports (each with its heading)."""
    body = [f"<h1>{escape(title)}</h1>"]
    for heading, report in sections:
        body.append(f"<h2>{escape(heading)}</h2>")
        body.append(_summary(report))
        body.append(_metrics(report))
        body.append(_figure("Cumulative gains (lift)", _gains_svg(report), _GAINS_NOTE))
        if any(m.calibration for m in report.metrics):
            body.append(_figure("Calibration", _calibration_svg(report), _CALIBRATION_NOTE))
        body.append(_bands(report))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


_GAINS_NOTE = "share of all positives in the best-scored share of leads; diagonal: random"
_CALIBRATION_NOTE = "observed conversion per predicted probability; diagonal: calibrated"


def _summary(report: Any) -> str:
    return (
        f"<p>{report.leads} leads, {report.positives} positives, "
        f"base rate {report.base_rate:.2%}</p>"
    )


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return escape(str(value))


def _metrics(report: Any) -> str:
    winners = report.winners()
    head = "".join(f"<th>{escape(m.strategy)}</th>" for m in report.metrics)
    rows = [f"<tr><th>metric</th>{head}</tr>"]
    for label, name in (
        ("ROC-AUC", "roc_auc"),
        ("PR-AUC", "pr_auc"),
        ("lift top 10%", "lift_top_decile"),
        ("Brier", "brier"),
    ):
        cells = "".join(
            f'<td class="best">{_fmt(getattr(m, name))}</td>'
            if winners.get(name) == m.strategy
            else f"<td>{_fmt(getattr(m, name))}</td>"
            for m in report.metrics
        )
        rows.append(f"<tr><td>{label}</td>{cells}</tr>")
    scored = "".join(f"<td>{m.scored}</td>" for m in report.metrics)
    rows.append(f"<tr><td>scored</td>{scored}</tr>")
    return f"<table>{''.join(rows)}</table>"


def _bands(report: Any) -> str:
    parts = []
    for m in report.metrics:
        if not m.by_band:
            continue
        rows = "".join(
            f"<tr><td>{escape(band)}</td><td>{count}</td><td>{rate:.2%}</td></tr>"
            for band, count, rate in m.by_band
        )
        parts.append(
            f"<h3>Conversion per band: {escape(m.strategy)}</h3>"
            f"<table><tr><th>band</th><th>leads</th><th>converted</th></tr>{rows}</table>"
        )
    return "".join(parts)


def _figure(caption: str, svg: str, note: str) -> str:
    return (
        f"<figure>{svg}<figcaption><strong>{escape(caption)}</strong>: "
        f"{escape(note)}</figcaption></figure>"
    )


def _xy(x: float, y: float) -> str:
    span = _SIZE - 2 * _PAD
    return f"{_PAD + x * span:.1f},{_SIZE - _PAD - y * span:.1f}"


def _frame(label_x: str, label_y: str) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_SIZE}" height="{_SIZE}" '
        f'viewBox="0 0 {_SIZE} {_SIZE}" role="img">',
        f'<polyline points="{_xy(0, 1)} {_xy(0, 0)} {_xy(1, 0)}" fill="none" stroke="#444"/>',
        f'<polyline points="{_xy(0, 0)} {_xy(1, 1)}" fill="none" stroke="#aaa" '
        'stroke-dasharray="4 3"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        x, y = _xy(tick, 0).split(",")
        parts.append(f'<text x="{x}" y="{float(y) + 14:.1f}" font-size="10" '
                     f'text-anchor="middle">{tick:.0%}</text>')  # fmt: skip
        x, y = _xy(0, tick).split(",")
        parts.append(f'<text x="{float(x) - 4:.1f}" y="{float(y) + 3:.1f}" font-size="10" '
                     f'text-anchor="end">{tick:.0%}</text>')  # fmt: skip
    parts.append(f'<text x="{_SIZE / 2:.0f}" y="{_SIZE - 6}" font-size="11" '
                 f'text-anchor="middle">{escape(label_x)}</text>')  # fmt: skip
    middle = f"{_SIZE / 2:.0f}"
    parts.append(f'<text x="12" y="{middle}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 12 {middle})">{escape(label_y)}</text>')  # fmt: skip
    return parts


def _legend(parts: list[str], names: Sequence[str]) -> None:
    for i, name in enumerate(names):
        colour = COLOURS[i % len(COLOURS)]
        y = _PAD + 14 * i
        parts.append(f'<rect x="{_PAD + 8}" y="{y - 8}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{_PAD + 22}" y="{y + 1}" font-size="11">{escape(name)}</text>')


def _gains_svg(report: Any) -> str:
    parts = _frame("leads, best scored first", "positives found")
    for i, m in enumerate(report.metrics):
        if not m.gains:
            continue
        colour = COLOURS[i % len(COLOURS)]
        points = [(0.0, 0.0)] + [((k + 1) / len(m.gains), g) for k, g in enumerate(m.gains)]
        line = " ".join(_xy(x, y) for x, y in points)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2">'
                     f"<title>{escape(m.strategy)}</title></polyline>")  # fmt: skip
    _legend(parts, [m.strategy for m in report.metrics])
    parts.append("</svg>")
    return "".join(parts)


def _calibration_svg(report: Any) -> str:
    parts = _frame("predicted probability", "observed conversion")
    for i, m in enumerate(report.metrics):
        colour = COLOURS[i % len(COLOURS)]
        for predicted, observed in m.calibration:
            x, y = _xy(predicted, observed).split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="3.5" fill="{colour}">'
                         f"<title>{escape(m.strategy)}: predicted {predicted:.1%}, "
                         f"observed {observed:.1%}</title></circle>")  # fmt: skip
        if len(m.calibration) > 1:
            line = " ".join(_xy(p, o) for p, o in m.calibration)
            parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" '
                         'stroke-width="1.5"/>')  # fmt: skip
    _legend(parts, [m.strategy for m in report.metrics if m.calibration])
    parts.append("</svg>")
    return "".join(parts)
