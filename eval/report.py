"""Reports of a comparison: Markdown for the terminal and repositories, and one self-contained HTML
file (no scripts, no external files: charts are inline SVG) to send to whoever decides.

Both show, per metric family, the two runs side by side with their 95% intervals, how many
questions could not be judged (NaN) or did not apply, and per-question wins and losses; then every
question with both answers.
"""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime
from pathlib import Path

from eval.compare import Comparison, MetricRow, Stat, fmt
from eval.store import RunInfo

FAMILY_TITLES = {
    "outcome": "Outcomes",
    "retrieval": "Retrieval",
    "answer": "Answers",
    "claims": "Claim-level correctness (judge)",
    "faithfulness": "Hallucination / faithfulness",
    "refusal": "Refusal",
    "citations": "Citations",
    "operations": "Operations",
}
FAMILY_NOTES = {
    "outcome": "What a user sees: a correct answer citing its gold source, a refusal where one is due, a wrong answer shown.",
    "retrieval": "Against the gold source documents; ranked documents, not chunks.",
    "answer": "On the answer shown to the user, citations stripped; SQuAD normalisation with Spanish accents and articles.",
    "claims": "An LLM judge splits answer and reference into claims (RAGChecker style); empty when no judge ran.",
    "faithfulness": "Share of the model's claims supported: by the cited sources (offline scorer) and by the retrieved context (judge).",
    "refusal": "Abstention precision/recall on unanswerable and forbidden questions; answer rate on answerable ones.",
    "citations": "Precision: cited chunk supports its sentence (offline scorer). Recall: a gold source is cited.",
    "operations": "Wall-clock on this machine; cost from the price table in configs/contenders.yaml.",
}
COLORS = ("#3b6ea8", "#d9822b")


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "—"


def _commit(run: RunInfo) -> str:
    commit = run.git_commit or "—"
    return commit[:10] + ("+dirty" if commit.endswith("+dirty") else "")


def _label(run: RunInfo) -> str:
    return f"{run.contender} ({run.short_id})"


def _stat_text(stat: Stat | None, unit: str) -> str:
    if stat is None:
        return "—"
    text = fmt(stat.value, unit)
    if not math.isnan(stat.lo) and stat.lo != stat.hi:
        text += f" [{fmt(stat.lo, unit)}, {fmt(stat.hi, unit)}]"
    return text


def _counts(stat: Stat | None) -> str:
    if stat is None:
        return "—"
    return f"{stat.n_valid}/{stat.n_nan}/{stat.n_na}"


def _wl(m: MetricRow) -> str:
    return f"{m.wins}/{m.losses}/{m.ties}" if m.info.per_question else "—"


def _run_lines(c: Comparison) -> list[tuple[str, RunInfo]]:
    return [("A", c.a), ("B", c.b)]


def _model_of(run: RunInfo) -> str:
    llm = run.config.get("settings", {}).get("llm", {})
    local = llm.get("local", {}).get("model", "?")
    cloud = llm.get("cloud") or {}
    policy = run.config.get("settings", {}).get("policy", {})
    if cloud and policy.get("cloud_enabled"):
        return f"{cloud.get('model')} (cloud, by policy) / {local} (local)"
    return local


# --------------------------------------------------------------------------- Markdown


def markdown(c: Comparison) -> str:
    """The comparison as a Markdown document."""
    out = [f"# Evaluation: {_label(c.a)} vs {_label(c.b)}", ""]
    out += [
        "| | run | contender | model | dataset | questions | commit | finished |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tag, run in _run_lines(c):
        out.append(
            f"| {tag} | `{run.short_id}` | {run.contender} | {_model_of(run)} | {Path(run.dataset).name} "
            f"(`{run.dataset_hash[:12]}`) | {run.n_questions} | `{_commit(run)}` | {_when(run.finished)} |"
        )
    out.append("")
    for note in c.notes:
        out += [f"> {note}", ""]
    out += [
        "Values are means (or run-level figures) with 95% bootstrap intervals over questions. "
        "n = judged / could not judge (NaN, never averaged in) / does not apply. "
        "W/L/T: questions where B beats, loses to, or ties A. ▲ marks the better run where the intervals do not overlap.",
        "",
    ]
    for family in c.families:
        out += [f"## {FAMILY_TITLES[family]}", "", FAMILY_NOTES[family], ""]
        out += ["| metric | A | B | Δ (B−A) | n A | n B | W/L/T |", "|---|---|---|---|---|---|---|"]
        for m in c.family(family):
            mark_a = " ▲" if m.better == "a" else ""
            mark_b = " ▲" if m.better == "b" else ""
            unit = f" ({m.info.unit})" if m.info.unit else ""
            out.append(
                f"| {m.info.label}{unit} | {_stat_text(m.a, m.info.unit)}{mark_a} | {_stat_text(m.b, m.info.unit)}{mark_b} "
                f"| {fmt(m.delta, m.info.unit)} | {_counts(m.a)} | {_counts(m.b)} | {_wl(m)} |"
            )
        out.append("")
    wins = sum(1 for q in c.questions if q.winner == "b")
    losses = sum(1 for q in c.questions if q.winner == "a")
    out += [
        "## Questions",
        "",
        f"Headline outcome per question (accepted answer contained, or a right refusal): B better on {wins}, "
        f"A better on {losses}, the rest tied or not judged.",
        "",
        "| id | kind | question | A | B | better |",
        "|---|---|---|---|---|---|",
    ]
    for q in c.questions:
        out.append(
            f"| {q.question_id} | {q.kind} | {_md_cell(q.question, 80)} | {_md_cell(_answer_line(q.a), 120)} "
            f"| {_md_cell(_answer_line(q.b), 120)} | {q.winner.upper() if q.winner else '='} |"
        )
    out.append("")
    return "\n".join(out)


def _answer_line(row: dict | None) -> str:  # type: ignore[type-arg]
    if row is None:
        return "(not asked)"
    if row.get("error"):
        return f"error: {row['error']}"
    tag = "refused" if row.get("refused") else "answered"
    return f"[{tag}] {row.get('answer') or ''}"


def _md_cell(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


# --------------------------------------------------------------------------- HTML with SVG charts


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _bar_chart(rows: list[MetricRow], labels: tuple[str, str]) -> str:
    """Horizontal grouped bars (A, B) with 95% interval whiskers; one scale per chart."""
    rows = [m for m in rows if (m.a and not math.isnan(m.a.value)) or (m.b and not math.isnan(m.b.value))]
    if not rows:
        return ""
    values = [x for m in rows for s in (m.a, m.b) if s for x in (s.value, s.hi) if not math.isnan(x)]
    top = max(1.0, max(values)) if all(0 <= v <= 1 for v in values) else max(values) * 1.1 or 1.0
    left, width, bar, gap = 170, 420, 12, 14
    height = len(rows) * (2 * bar + gap) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" role="img">']
    y = 10
    for m in rows:
        parts.append(
            f'<text x="{left - 8}" y="{y + bar + 4}" text-anchor="end" font-size="12">{_esc(m.info.name)}<title>{_esc(m.info.label)}</title></text>'
        )
        for i, stat in enumerate((m.a, m.b)):
            yy = y + i * bar
            if stat is None or math.isnan(stat.value):
                parts.append(f'<text x="{left + 4}" y="{yy + bar - 2}" font-size="10" fill="#888">not judged</text>')
                continue
            w = max(0.0, stat.value / top * width)
            parts.append(f'<rect x="{left}" y="{yy}" width="{w:.1f}" height="{bar - 2}" fill="{COLORS[i]}">'
                         f'<title>{_esc(labels[i])}: {_esc(fmt(stat.value, m.info.unit))}</title></rect>')  # fmt: skip
            if not math.isnan(stat.lo):
                x1, x2 = left + stat.lo / top * width, left + stat.hi / top * width
                mid = yy + (bar - 2) / 2
                parts.append(
                    f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{mid}" y2="{mid}" stroke="#222" stroke-width="1"/>'
                )
                for x in (x1, x2):
                    parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{yy + 1}" y2="{yy + bar - 3}" stroke="#222"/>')
            parts.append(
                f'<text x="{left + width + 6}" y="{yy + bar - 3}" font-size="10">{_esc(fmt(stat.value, m.info.unit))}</text>'
            )
        y += 2 * bar + gap
    parts.append(f'<line x1="{left}" x2="{left}" y1="5" y2="{height - 20}" stroke="#999"/>')
    parts.append(f'<text x="{left}" y="{height - 5}" font-size="10" fill="#666">0</text>')
    parts.append(
        f'<text x="{left + width}" y="{height - 5}" font-size="10" fill="#666" text-anchor="end">{_esc(fmt(top))}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _wins_chart(rows: list[MetricRow]) -> str:
    """Per metric, a stacked bar of B's wins, ties and losses against A."""
    rows = [m for m in rows if m.info.per_question and (m.wins + m.losses + m.ties)]
    if not rows:
        return ""
    left, width, bar = 170, 300, 14
    height = len(rows) * (bar + 6) + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 90}" height="{height}" role="img">']
    for i, m in enumerate(rows):
        y = 8 + i * (bar + 6)
        total = m.wins + m.losses + m.ties
        parts.append(
            f'<text x="{left - 8}" y="{y + bar - 3}" text-anchor="end" font-size="12">{_esc(m.info.name)}<title>{_esc(m.info.label)}</title></text>'
        )
        x = float(left)
        for count, color, name in (
            (m.wins, "#2e8b57", "B wins"),
            (m.ties, "#bbb", "ties"),
            (m.losses, "#c0392b", "A wins"),
        ):
            w = count / total * width
            if w:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{color}"><title>{name}: {count}</title></rect>'
                )
            x += w
        parts.append(
            f'<text x="{left + width + 6}" y="{y + bar - 3}" font-size="10">{m.wins}/{m.losses}/{m.ties}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _latency_strip(c: Comparison) -> str:
    """Every question's latency as a dot, one strip per run: the spread behind p50 and p95."""
    series = []
    for q in c.questions:
        for i, row in enumerate((q.a, q.b)):
            v = (row or {}).get("metrics", {}).get("latency_s")
            if v is not None and not math.isnan(v):
                series.append((i, float(v)))
    if not series:
        return ""
    top = max(v for _, v in series) * 1.05 or 1.0
    left, width = 120, 500
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" height="90" role="img">']
    for i, label in enumerate(("A", "B")):
        y = 20 + i * 30
        parts.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" font-size="12">{label} latency (s)</text>')
        parts.append(f'<line x1="{left}" x2="{left + width}" y1="{y}" y2="{y}" stroke="#ddd"/>')
    for i, v in series:
        parts.append(f'<circle cx="{left + v / top * width:.1f}" cy="{20 + i * 30}" r="4" fill="{COLORS[i]}" '
                     f'fill-opacity="0.7"><title>{v:.2f} s</title></circle>')  # fmt: skip
    parts.append(f'<text x="{left}" y="85" font-size="10" fill="#666">0</text>')
    parts.append(f'<text x="{left + width}" y="85" font-size="10" fill="#666" text-anchor="end">{top:.1f} s</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;vertical-align:top}
th{background:#f4f4f4;text-align:left}td.num{text-align:right;white-space:nowrap}.note{color:#555;font-size:13px}
.better{font-weight:bold;color:#2e6b2e}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}
details{margin:.2rem 0}.refused{color:#a05a00}.error{color:#b00}section{margin-bottom:2rem}
"""


def html_report(c: Comparison) -> str:
    """The comparison as one self-contained HTML page with inline SVG charts."""
    labels = (f"A: {_label(c.a)}", f"B: {_label(c.b)}")
    out = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
           f"<title>Evaluation: {_esc(_label(c.a))} vs {_esc(_label(c.b))}</title><style>{_CSS}</style></head><body>",
           f"<h1>Evaluation: {_esc(_label(c.a))} vs {_esc(_label(c.b))}</h1>"]  # fmt: skip
    out.append("<table><tr><th></th><th>run</th><th>contender</th><th>model</th><th>dataset</th><th>questions</th>"
               "<th>commit</th><th>finished</th></tr>")  # fmt: skip
    for tag, run in _run_lines(c):
        out.append(
            f"<tr><td>{tag}</td><td><code>{_esc(run.short_id)}</code></td><td>{_esc(run.contender)}</td>"
            f"<td>{_esc(_model_of(run))}</td><td>{_esc(Path(run.dataset).name)} <code>{_esc(run.dataset_hash[:12])}</code></td>"
            f"<td class='num'>{run.n_questions}</td><td><code>{_esc(_commit(run))}</code></td>"
            f"<td>{_esc(_when(run.finished))}</td></tr>"
        )
    out.append("</table>")
    out += [f"<p class='note'><b>Note:</b> {_esc(n)}</p>" for n in c.notes]
    out.append(
        "<p class='note'>Means (or run-level figures) with 95% bootstrap intervals over questions. "
        "n = judged / could not judge (NaN, never averaged in) / does not apply. W/L/T: questions where B beats, "
        "loses to, or ties A. Bold marks the better run where the intervals do not overlap.</p>"
        f"<p class='legend'><span style='background:{COLORS[0]}'></span>{_esc(labels[0])}"
        f"<span style='background:{COLORS[1]}'></span>{_esc(labels[1])}</p>"
    )
    for family in c.families:
        rows = c.family(family)
        out.append(
            f"<section id='{family}'><h2>{_esc(FAMILY_TITLES[family])}</h2><p class='note'>{_esc(FAMILY_NOTES[family])}</p>"
        )
        out.append(
            "<table><tr><th>metric</th><th>A</th><th>B</th><th>Δ (B−A)</th><th>n A</th><th>n B</th><th>W/L/T</th></tr>"
        )
        for m in rows:
            ca = " class='num better'" if m.better == "a" else " class='num'"
            cb = " class='num better'" if m.better == "b" else " class='num'"
            unit = f" ({m.info.unit})" if m.info.unit else ""
            out.append(
                f"<tr><td>{_esc(m.info.label + unit)}</td><td{ca}>{_esc(_stat_text(m.a, m.info.unit))}</td>"
                f"<td{cb}>{_esc(_stat_text(m.b, m.info.unit))}</td><td class='num'>{_esc(fmt(m.delta, m.info.unit))}</td>"
                f"<td class='num'>{_counts(m.a)}</td><td class='num'>{_counts(m.b)}</td><td class='num'>{_wl(m)}</td></tr>"
            )
        out.append("</table>")
        if family == "operations":
            # Seconds, tokens and money do not share a scale: one chart per unit.
            for unit_rows in ([m for m in rows if m.info.unit == "s"], [m for m in rows if "tokens" in m.info.name],
                              [m for m in rows if m.info.unit == "$"]):  # fmt: skip
                out.append(_bar_chart(unit_rows, labels))
            out.append(_latency_strip(c))
        else:
            out.append(_bar_chart(rows, labels))
        out.append(_wins_chart(rows))
        out.append("</section>")
    out.append("<section id='questions'><h2>Questions</h2><table><tr><th>id</th><th>kind</th><th>question</th>"
               "<th>A</th><th>B</th><th>better</th></tr>")  # fmt: skip
    for q in c.questions:
        out.append(
            f"<tr><td>{_esc(q.question_id)}</td><td>{_esc(q.kind)}</td><td>{_esc(q.question)}</td>"
            f"<td>{_answer_html(q.a)}</td><td>{_answer_html(q.b)}</td><td>{_esc(q.winner.upper() if q.winner else '=')}</td></tr>"
        )
    out.append("</table></section>")
    out.append(
        f"<p class='note'>Generated by <code>fuente eval compare</code> on {_esc(_when(datetime.now(UTC).timestamp()))}.</p>"
    )
    out.append("</body></html>")
    return "\n".join(x for x in out if x)


def _answer_html(row: dict | None) -> str:  # type: ignore[type-arg]
    if row is None:
        return "<i>not asked</i>"
    if row.get("error"):
        return f"<span class='error'>error: {_esc(row['error'])}</span>"
    cls = "refused" if row.get("refused") else ""
    text = _esc(row.get("answer") or "")
    cites = "".join(f"<li>[{_esc(c.get('n'))}] {_esc(c.get('title'))} — {_esc(c.get('source_uri'))}</li>"
                    for c in row.get("citations", []))  # fmt: skip
    m = row.get("metrics", {})
    keys = ("contains_answer", "token_f1", "support_offline", "claim_f1", "faithfulness_judge", "latency_s")
    shown = ", ".join(f"{k}={fmt(float(m[k]))}" for k in keys if k in m)
    body = f"<div class='{cls}'>{text}</div>"
    if cites:
        body += f"<details><summary>citations</summary><ul>{cites}</ul></details>"
    return body + f"<div class='note'>{_esc(shown)}</div>"


def write_reports(c: Comparison, *, markdown_path: Path | None = None, html_path: Path | None = None) -> list[Path]:
    """Write the Markdown and/or HTML report; returns the files written."""
    written = []
    for path, render in ((markdown_path, markdown), (html_path, html_report)):
        if path is None:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(c), encoding="utf-8")
        written.append(path)
    return written
