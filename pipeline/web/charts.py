"""Charts as inline SVG, drawn here (no JavaScript library, nothing from a CDN). Every label is
escaped: item titles and agent names come from specs and metadata."""

from __future__ import annotations

from html import escape

from markupsafe import Markup


def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    return Markup(f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
                  f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>')


def score_trend(points: list[tuple[str, float | None, int, int]], width: int = 760, height: int = 220) -> Markup:
    """Mean score per day (line, 0-100) over calls per day (bars) and the days' critical failures
    (red marks)."""
    days = [p for p in points if p[1] is not None]
    if not days:
        return Markup('<p class="empty">No scored calls in this period.</p>')
    left, right, top, bottom = 40, 10, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(days) - 1)
    most = max(p[2] for p in days) or 1
    body = []
    for value in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - value / 100)
        body.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                    f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    bar = max(1.0, min(12.0, step * 0.6))
    for n, (day, score, calls, critical) in enumerate(days):
        x = left + n * step if len(days) > 1 else left + plot_w / 2
        h = plot_h * 0.35 * calls / most
        body.append(f'<rect class="volume" x="{x - bar / 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                    f'height="{h:.1f}"><title>{escape(day)}: {calls} calls, {critical} with a critical failure'
                    f'</title></rect>')
        if critical:
            body.append(f'<circle class="critical" cx="{x:.1f}" cy="{top + plot_h - 3:.1f}" r="3"/>')
    line = " ".join(f"{left + n * step if len(days) > 1 else left + plot_w / 2:.1f},"
                    f"{top + plot_h * (1 - score / 100):.1f}" for n, (_, score, _, _) in enumerate(days))
    body.append(f'<polyline class="trend" points="{line}"/>')
    for n, (day, score, calls, _) in enumerate(days):
        x = left + n * step if len(days) > 1 else left + plot_w / 2
        body.append(f'<circle class="point" cx="{x:.1f}" cy="{top + plot_h * (1 - score / 100):.1f}" r="2.5">'
                    f'<title>{escape(day)}: mean score {score:.1f} over {calls} calls</title></circle>')
    for n in sorted({0, len(days) - 1, len(days) // 2}):
        x = left + n * step if len(days) > 1 else left + plot_w / 2
        anchor = "start" if n == 0 and len(days) > 1 else "end" if n == len(days) - 1 and n else "middle"
        body.append(f'<text class="axis" x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}">'
                    f'{escape(days[n][0])}</text>')
    return _svg(width, height, body, "mean score per day")


def pass_rates(items: list[tuple[str, str, int, int, int]], width: int = 760) -> Markup:
    """One horizontal bar per checklist item: its pass rate over the calls it applied to."""
    rows = [(item, title, p, f) for item, title, p, f, _ in items if p + f]
    if not rows:
        return Markup('<p class="empty">No findings in this period.</p>')
    label_w, bar_h, gap = 330, 16, 6
    height = len(rows) * (bar_h + gap) + 4
    plot_w = width - label_w - 60
    body = []
    for n, (item, title, passes, fails) in enumerate(rows):
        y = n * (bar_h + gap) + 2
        rate = passes / (passes + fails)
        shown = title if len(title) <= 48 else title[:47] + "…"
        kind = "good" if rate >= 0.9 else "fair" if rate >= 0.75 else "poor"
        body.append(f'<text class="label" x="{label_w - 8}" y="{y + bar_h - 4}" text-anchor="end">'
                    f'<title>{escape(title)} ({escape(item)})</title>{escape(shown)}</text>'
                    f'<rect class="track" x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}"/>'
                    f'<rect class="bar {kind}" x="{label_w}" y="{y}" width="{plot_w * rate:.1f}" height="{bar_h}">'
                    f'<title>{passes} passed, {fails} failed</title></rect>'
                    f'<text class="value" x="{label_w + plot_w + 6}" y="{y + bar_h - 4}">{100 * rate:.0f}%</text>')
    return _svg(width, height, body, "pass rate per checklist item")


def score_bar(score: float | None, width: int = 120) -> Markup:
    """A small bar for a score in a table cell."""
    if score is None:
        return Markup("")
    kind = "good" if score >= 90 else "fair" if score >= 75 else "poor"
    filled = width * max(0.0, min(score, 100.0)) / 100
    return Markup(f'<svg class="mini" viewBox="0 0 {width} 10" width="{width}" height="10" aria-hidden="true">'
                  f'<rect class="track" width="{width}" height="10"/>'
                  f'<rect class="bar {kind}" width="{filled:.1f}" height="10"/></svg>')
