"""Answers render as text: no HTML, images, directives or links except to allowed hosts."""

from __future__ import annotations

import math
import re

from ui.eval_view import latencies, side_by_side
from ui.render import UNSUPPORTED_MARK, escape, provenance_only, render_answer, safe_inline, unsupported_sentences


def test_planted_markup_is_inert() -> None:
    planted = (
        '![x](https://evil.example/p.png) <img src="https://evil.example/i.png"> '
        "[click](https://evil.example/) :red[alarm] :material/home: $x^2$ <script>alert(1)</script>"
    )
    out = safe_inline(planted)
    outside_code = re.sub(r"`[^`]*`", "", out)
    # Every markup character the model wrote is backslash-escaped, so it renders as itself.
    assert not re.search(r"(?<!\\)[<>!\[\]():$]", outside_code), outside_code
    # A bare URL to an unknown host is shown as code, so it is neither a link nor fetched.
    assert "`https://evil.example/p.png`" in out


def test_links_only_to_allowed_hosts() -> None:
    out = safe_inline("See https://intranet.aurora.example/politica and https://evil.example/x.", ["aurora.example"])
    assert "(<https://intranet.aurora.example/politica>)" in out
    assert "`https://evil.example/x`" in out and "(<https://evil.example" not in out


def test_citations_and_unsupported_sentences_are_marked() -> None:
    text = "La dieta es de 75 € [1]. El hotel es gratis [2]."
    sentences = [
        {"text": "La dieta es de 75 € [1].", "kind": "claim", "supported": True},
        {"text": "El hotel es gratis [2].", "kind": "claim", "supported": False},
    ]
    out = render_answer(text, sentences, refused=False)
    assert "**\\[1\\]**" in out and "**\\[2\\]**" in out
    assert out.count(UNSUPPORTED_MARK) == 1 and out.index(UNSUPPORTED_MARK) > out.index("75")
    assert escape("a*b_c") == "a\\*b\\_c"


def test_hidden_rows_and_latencies() -> None:
    runs = {
        "a": [{"question_id": "q1", "groups": []}, {"question_id": "q2", "groups": ["finanzas"]}],
        "b": [{"question_id": "q2", "groups": ["finanzas"]}, {"question_id": "q1", "groups": []}],
    }
    ids, _, hidden = side_by_side(runs, frozenset({"rrhh"}))
    assert ids == ["q1"] and hidden == 1
    assert side_by_side(runs, frozenset({"finanzas"}))[0] == ["q1", "q2"]
    assert latencies([{"timings": {"total_s": 2.0}}, {"timings": {"total_s": math.nan}}, {}]) == [2.0]


def _html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").render(markdown)


def test_answers_show_no_stray_markdown() -> None:
    """The model's own bold and headings go; citation markers are bold wherever they stand."""
    for text in ("La dieta es de **75 €**[2][3].", "## Dietas\nSon 75 €[1]para viajes", "Answer: travel[1]and"):
        html = _html(render_answer(text, [], refused=False))
        assert "**" not in html and "#" not in html, html
        assert re.search(r"<strong>\[(\d)\](\[\d\])?</strong>", html), html
    out = render_answer(
        "**La dieta es 75 €**[2][3].",
        [{"text": "**La dieta es 75 €**[2][3].", "kind": "claim", "supported": False}],
        refused=False,
    )
    assert "<strong>[2][3]</strong>" in _html(out) and out.count(UNSUPPORTED_MARK) == 1


def test_sentences_that_only_name_the_source_are_not_flagged() -> None:
    titles = ["Política de viajes 2026"]
    sentences = [
        {"text": "Según la política de viajes [1]:", "kind": "claim", "supported": False},
        {"text": "This information comes from source [2].", "kind": "claim", "supported": False},
        {"text": "La información se encuentra en la Política de viajes 2026 [1].", "kind": "claim", "supported": False},
        {"text": "El hotel se paga aparte [1].", "kind": "claim", "supported": False},
        {"text": "Según la política, la dieta es de 90 € [1].", "kind": "claim", "supported": False},
    ]
    assert unsupported_sentences(sentences, titles) == [
        "El hotel se paga aparte [1].",
        "Según la política, la dieta es de 90 € [1].",
    ]
    text = " ".join(str(s["text"]) for s in sentences)
    out = render_answer(text, sentences, refused=False, titles=titles, unsupported_note="no respaldada")
    assert out.count(UNSUPPORTED_MARK) == 2 and "no respaldada" in out
    assert not provenance_only("75 € [1].") and provenance_only("Source [1].")
