"""Rendering under hostile input: the template sandbox, template errors, figure text, the PDF's
resource fetches, and text too long or unprintable for a page."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from xml.etree import ElementTree

import jinja2.sandbox
import pandas as pd
import pytest

from trialkit.errors import InputError, RenderWarning, TemplateError
from trialkit.report.figures import (
    FIGURE_TEXT_MAX,
    boundaries_figure,
    forest_figure,
    lsmeans_figure,
)
from trialkit.report.render import (
    environment,
    render_html,
    render_pdf,
    safe_svg,
)
from trialkit.report.tables import group_row, make_table

from .analysis_results import write_test_results
from .conftest import render

HOSTILE_LABELS = [
    "a < b && c > d",
    "quote \" and apostrophe '",
    "]]> <![CDATA[ x",
    "</svg><script>alert(1)</script>",
    "onload=alert(1) javascript:void(0) <!-- x -->",
    "bell \x07 escape \x1b nul \x00 del \x7f",
    "x" * 10_000,
    "Ωμέγα 漢字 Ünïcödé 🧪",
    "$\\frac{1}{0}$ \\",
]


def _user(tmp_path: Path, text: str, name: str = "report.html.j2") -> Path:
    folder = tmp_path / "user"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_every_template_runs_in_the_sandbox(tmp_path: Path) -> None:
    assert isinstance(environment(), jinja2.sandbox.SandboxedEnvironment)
    assert isinstance(environment(_user(tmp_path, "x")), jinja2.sandbox.SandboxedEnvironment)


@pytest.mark.parametrize(
    "text",
    ["{{ ''.__class__.__mro__ }}", "{{ ().__class__.__base__.__subclasses__() }}",
     "{{ cycler.__init__.__globals__.os.system('true') }}", "{{ self.__init__ }}",
     "{{ joiner.__init__.__globals__ }}", "{{ namespace.__init__.__globals__ }}"],
)  # fmt: skip
def test_sandbox_refuses_internals(tmp_path: Path, text: str) -> None:
    with pytest.raises(TemplateError, match=r"report\.html\.j2:1: template error: .*unsafe"):
        render_html({}, _user(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "line", "detail"),
    [("ok\n{% for %}", 2, "Expected"), ("\n\n{{ missing }}", 3, "'missing' is undefined"),
     ("{% include 'absent.j2' %}", 1, "template not found: absent.j2"),
     ("a\nb\n{{ 1 / 0 }}", 3, "ZeroDivisionError"),
     ("{{ 'x' * 2000000 }}", 1, "'*' would build more than 1,000,000 items"),
     ("{{ [0] * 2000000 }}", 1, "'*' would build"),
     ("{{ 3 ** 100000 }}", 1, "'**' would build"),
     ("{% include 'report.html.j2' %}", 1, "RecursionError")],
)  # fmt: skip
def test_template_errors_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, detail: str
) -> None:
    with pytest.raises(TemplateError) as info:
        render_html({}, _user(tmp_path, text))
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'user' / 'report.html.j2'}:{line}: template error: ")
    assert detail in message and "\n" not in message
    assert isinstance(info.value, InputError) and info.value.exit_code == 2


def test_small_products_and_powers_still_work(tmp_path: Path) -> None:
    html = render_html({}, _user(tmp_path, "{{ '-' * 3 }}{{ 2 ** 10 }}{{ 2.5 * 2 }}"))
    assert html == "---10245.0"


def test_unreadable_template_names_the_file(tmp_path: Path) -> None:
    folder = _user(tmp_path, "x")
    (folder / "report.html.j2").write_bytes(b"\xff\xfe")
    with pytest.raises(TemplateError, match=r"user/report\.html\.j2: template error: cannot read"):
        render_html({}, folder)


def test_error_in_a_section_names_the_users_section(
    small_trial: Path, analysis_output: Path, tmp_path: Path
) -> None:
    from trialkit.definition import load_definition
    from trialkit.report import AnalysisOutput, ReportOptions, build_report

    folder = _user(
        tmp_path, "<p>{{ s.trial_id }}</p>\n{{ s.no_such_key.deeper }}\n", "title_page.html.j2"
    )
    with pytest.raises(TemplateError, match=r"user/title_page\.html\.j2:2: template error: "):
        build_report(
            load_definition(small_trial), AnalysisOutput.load(analysis_output), ReportOptions(),
            templates=folder,
        )  # fmt: skip


def _arm_frame(codes: list[str]) -> pd.DataFrame:
    rows = [
        {"arm": c, "visit": v, "estimate": 1.0 + i, "lower": 0.5 + i, "upper": 1.5 + i}
        for i, c in enumerate(codes)
        for v in ("W4", "W8")
    ]
    return pd.DataFrame(rows)


def _texts(svg: str) -> str:
    root = ElementTree.fromstring(svg)
    return " ".join(t for e in root.iter() for t in (e.text or "",))


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_figures_embed_any_label(label: str) -> None:
    arms = {"A": label, "B": "reference"}
    svg = lsmeans_figure(_arm_frame(list(arms)), arms, {"W4": 28, "W8": 56},
                         {"W4": label, "W8": "Week 8"}, label, 0.95)  # fmt: skip
    embedded = safe_svg(svg)  # the check reads the markup only: it never refuses a label
    assert str(embedded) == svg
    text = _texts(svg)
    clean = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "\ufffd", label)
    assert clean[:40].replace("$", "").strip()[:10] in text.replace("$", "")
    if len(label) > FIGURE_TEXT_MAX:
        assert f"[cut, {len(label):,} characters in all]" in text


def test_forest_and_boundaries_embed_hostile_labels() -> None:
    label = "</svg><script>x</script> & \x07 " + "y" * 500
    rows = pd.DataFrame([{"subgroup": label, "level": label, "arm": "A", "estimate": 1.0,
                          "lower": 0.0, "upper": 2.0}])  # fmt: skip
    safe_svg(forest_figure(rows, {"A": label}, label, 0.95))
    table = pd.DataFrame({"information_fraction": [0.5, 1.0], "efficacy_z": [2.9, 1.97]})
    safe_svg(boundaries_figure(table, {"A": (0.5, 1.0)}, {"A": label}, ["A"]))


@pytest.mark.parametrize(
    "svg",
    ["<svg><script>alert(1)</script></svg>", "<div>not svg</div>", '<svg onload="x"></svg>',
     '<svg><a href="javascript:x"><text>t</text></a></svg>',
     '<svg><foreignObject><p>x</p></foreignObject></svg>',
     '<svg><image href="http://example.com/x.png"/></svg>',
     '<svg><use xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="file:///etc/passwd"/></svg>',
     '<svg><style>@import url(http://example.com/a.css);</style></svg>',
     '<!DOCTYPE svg [<!ENTITY e "x">]><svg>&e;</svg>', "<svg><!-- --></svg>", "<svg><g>"],
)  # fmt: skip
def test_safe_svg_refuses_anything_but_a_plain_figure(svg: str) -> None:
    with pytest.raises(ValueError, match="refusing to embed a figure"):
        safe_svg(svg)


def test_a_1mb_cell_is_cut_with_a_marker() -> None:
    table = make_table(["Term", "n"], [["T" * 1_000_000, "1"], group_row("G" * 5000, 2)])
    first, group = (r["cells"][0] for r in table["rows"])
    assert first.endswith("… [cut, 1,000,000 characters in all]") and len(first) < 1200
    assert group.endswith("[cut, 5,000 characters in all]")
    assert table["rows"][0]["cells"][1] == "1"


def test_huge_user_text_is_cut_and_script_inert(small_trial: Path, tmp_path: Path) -> None:
    results = write_test_results(
        small_trial, tmp_path / "r", ae_term="<script>alert(1)</script> " + "A" * 1_000_000
    )
    html = render(small_trial, results)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "[cut, 1,000,026 characters in all]" in html and len(html) < 1_000_000


def test_template_text_is_cut_and_cleaned(tmp_path: Path) -> None:
    html = render_html({"t": "\x00" + "w " * 6000}, _user(tmp_path, "{{ t }}"))
    assert html.startswith("\ufffdw w") and html.endswith("[cut, 12,001 characters in all]")


PIXEL = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _pdf_available() -> bool:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


@pytest.mark.skipif(not _pdf_available(), reason="WeasyPrint with pango is not installed")
def test_pdf_refuses_every_fetch_with_a_warning(tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not an image")
    html = f"""<html><head><link rel="stylesheet" href="https://example.invalid/a.css">
<style>@import "file://{secret}"; body {{ background: url(ftp://example.invalid/x) }}
@font-face {{ font-family: F; src: url(http://example.invalid/f.woff) }} p {{ font-family: F }}
</style></head>
<body><img src="{secret.as_uri()}"><img src="http://example.invalid/b.png">
<img src="data:image/png;base64,{PIXEL}"><img src="relative.png"><p>x</p></body></html>"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_pdf(html, tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").stat().st_size > 500
    messages = [str(w.message) for w in caught if issubclass(w.category, RenderWarning)]
    web = "http://example.invalid"
    for url in ("https://example.invalid/a.css", secret.as_uri(), f"{web}/b.png",
                "ftp://example.invalid/x", "relative.png", f"{web}/f.woff"):  # fmt: skip
        assert any(url in m for m in messages), (url, messages)
    assert all(m.startswith("r.pdf: ") and "\n" not in m for m in messages)
    assert not any("data:" in m for m in messages)
    assert len(messages) == len(set(messages)) == 6  # one line per resource


@pytest.mark.skipif(not _pdf_available(), reason="WeasyPrint with pango is not installed")
def test_a_self_contained_pdf_warns_nothing(html_reports: dict[str, str], tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RenderWarning)
        render_pdf(html_reports["open"], tmp_path / "open.pdf")
