"""Hostile report templates (``trialkit report --templates DIR``) and hostile text in a report.

Each case runs ``trialkit report example_trials/dhurat2013 --results ANALYSIS --templates DIR
--format html,pdf``: a template error is exit 2 with one line naming the template's file and
line, nothing is written to ``--out`` and no traceback; a template cannot reach the system; a
resource a template references is never fetched and only warned about.
"""

from __future__ import annotations

import http.server
import re
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest

from tests.hostile.conftest import assert_clean_run, run_clean, watch
from trialkit.cli import main
from trialkit.resources import example_trials_dir

TRIAL = example_trials_dir() / "dhurat2013"
PIXEL = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One analysis of dhurat2013, shared by every case."""
    root = tmp_path_factory.mktemp("templates")
    out = root / "analysis"
    args = ["analyze", str(TRIAL), "--out", str(out)]
    run_clean(args, watched=[root, TRIAL], outputs=[out], tmpdir=root / "tmpdir")
    return out


def _templates(tmp_path: Path, text: str | bytes, name: str = "signoff.html.j2") -> Path:
    """A templates folder replacing one shipped template with ``text``."""
    folder = tmp_path / "templates"
    folder.mkdir()
    target = folder / name
    target.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return folder


def _report(
    analysis: Path,
    templates: Path,
    capsys: pytest.CaptureFixture[str],
    expected_code: int,
    names: list[str] | None,
) -> tuple[str, str]:
    """Run the report into ``out`` beside ``templates``, with the checks of every case (the
    trial, the analysis and the case's folder unchanged but for ``out`` when it succeeds);
    the stderr line and the whole of stderr."""
    work, out = templates.parent, templates.parent / "out"
    before = watch(work, TRIAL, analysis)
    args = ["report", str(TRIAL), "--out", str(out), "--results", str(analysis),
            "--templates", str(templates), "--format", "html,pdf"]  # fmt: skip
    code = main(args)
    captured = capsys.readouterr()
    line = assert_clean_run(
        code, captured.err, expected_code=expected_code, names=names, before=before,
        outputs=[out] if expected_code == 0 else [], stdout=captured.out,
    )  # fmt: skip
    return line, captured.err


def _refused(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes
) -> str:
    """Run with a template of ``text``: exit 2, one error line, nothing written; the line."""
    line, _ = _report(analysis, _templates(tmp_path, text), capsys, 2, ["error"])
    assert line.startswith("trialkit: error: "), line
    return line


def _names_line(line: str, tmp_path: Path, lineno: int) -> None:
    """The error line starts with the user's template file and the line of the error."""
    where = f"{tmp_path / 'templates' / 'signoff.html.j2'}:{lineno}: template error: "
    assert line.removeprefix("trialkit: error: ").startswith(where), line


def test_dunder_attribute_is_refused(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(
        analysis, tmp_path, capsys, "<p>\n{{ ''.__class__.__mro__[1].__subclasses__() }}"
    )
    _names_line(line, tmp_path, 2)
    assert "__class__" in line and "unsafe" in line


def test_os_system_is_unreachable(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mark = tmp_path / "ran"
    text = f"{{{{ cycler.__init__.__globals__.os.system('touch {mark}') }}}}"
    line = _refused(analysis, tmp_path, capsys, text)
    _names_line(line, tmp_path, 1)
    assert not mark.exists()


def test_globals_of_a_filter_are_unreachable(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(analysis, tmp_path, capsys, "{{ lipsum.__globals__['os'].getcwd() }}")
    _names_line(line, tmp_path, 1)


def test_syntax_error(analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _refused(analysis, tmp_path, capsys, "<p>one</p>\n<p>two</p>\n{% if %}\n")
    _names_line(line, tmp_path, 3)


def test_undefined_variable(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(analysis, tmp_path, capsys, "\n\n\n{{ no_such_value }}")
    _names_line(line, tmp_path, 4)
    assert "'no_such_value' is undefined" in line


def test_missing_included_template(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(analysis, tmp_path, capsys, "<p>\n{% include 'nowhere.html.j2' %}")
    _names_line(line, tmp_path, 2)
    assert "template not found: nowhere.html.j2" in line


def test_division_by_zero(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(analysis, tmp_path, capsys, "{{ 1 // 0 }}")
    _names_line(line, tmp_path, 1)
    assert "ZeroDivisionError" in line


def test_template_including_itself(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(analysis, tmp_path, capsys, "{% include 'signoff.html.j2' %}")
    _names_line(line, tmp_path, 1)
    assert "RecursionError" in line


def test_huge_string_is_refused(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(analysis, tmp_path, capsys, "{{ 'x' * 10 ** 10 }}")
    _names_line(line, tmp_path, 1)
    assert "'*' would build more than" in line


def test_huge_power_is_refused(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(analysis, tmp_path, capsys, "{% set n = 10 %}{{ 9 ** (n ** 9) }}")
    _names_line(line, tmp_path, 1)
    assert "'**' would build" in line


def test_template_that_is_not_utf8(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(analysis, tmp_path, capsys, b"\xff\xfe<p>{{ report.trial_id }}</p>")
    assert f"{tmp_path / 'templates' / 'signoff.html.j2'}: template error: " in line
    assert "not UTF-8" in line


def test_script_smuggled_as_a_figure(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "<p>\n{{ '<svg onload=\"alert(1)\"></svg>' | safe_svg }}"
    line = _refused(analysis, tmp_path, capsys, text)
    _names_line(line, tmp_path, 2)
    assert "script (onload)" in line


@pytest.mark.parametrize(
    "markup",
    ["<div>" * 5000 + "x", '<p style="font-size: 1e9px">x</p>'],
    ids=["deeply-nested", "huge-font"],
)
def test_markup_weasyprint_cannot_lay_out(
    analysis: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], markup: str
) -> None:
    line = _refused(analysis, tmp_path, capsys, markup)
    assert line.startswith("trialkit: error: report.pdf: WeasyPrint cannot lay out the HTML: ")


class _Counting(http.server.BaseHTTPRequestHandler):
    """Counts requests (there must be none) and answers each with an empty 404."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_error(404)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    """A local HTTP server's base URL; its handler records any request."""
    _Counting.requests = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.slow
def test_resources_are_never_fetched(
    analysis: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = tmp_path / "secret.css"
    secret.write_text("p { color: red }", encoding="utf-8")
    opened: list[str] = []
    real = urllib.request.FileHandler.open_local_file

    def spy(handler: urllib.request.FileHandler, req: urllib.request.Request) -> object:
        opened.append(req.full_url)
        return real(handler, req)

    monkeypatch.setattr(urllib.request.FileHandler, "open_local_file", spy)
    dot = "data:image/png;base64," + PIXEL
    text = f"""<img src="{server}/a.png"><img src="file:///etc/passwd"><img src="{dot}">
<link rel="stylesheet" href="{server}/b.css"><link rel="stylesheet" href="{secret.as_uri()}">
<style>@import url("{server}/c.css"); p {{ background: url({secret.as_uri()}) }}</style>
<p style="background-image: url('{server}/d.png')">x</p><img src="relative.png">
<a rel="attachment" href="{secret.as_uri()}">attached</a><object data="{server}/e"></object>
<svg xmlns="http://www.w3.org/2000/svg"><image href="{server}/f.png" width="9" height="9"/></svg>
"""
    _, err = _report(analysis, _templates(tmp_path, text), capsys, 0, None)
    out = tmp_path / "out"
    assert (out / "report.pdf").stat().st_size > 10_000 and (out / "report.html").is_file()
    assert _Counting.requests == [] and opened == []
    # the CLI prints each RenderWarning as one line
    messages = [
        line.removeprefix("trialkit: warning: ")
        for line in err.splitlines()
        if line.startswith("trialkit: warning: ")
    ]
    assert messages and all(m.startswith("report.pdf: ") for m in messages)
    for url in (f"{server}/a.png", "file:///etc/passwd", f"{server}/b.css", secret.as_uri()):
        assert any(url in m for m in messages), url
    assert not any("data:" in m for m in messages)


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dhurat2013 with hostile arm labels, a 1 MB adverse-event term and control characters,
    analysed and reported (HTML and PDF) once, each a clean run (exit 0, nothing on stderr,
    the trial unchanged, nothing left behind); the report's folder."""
    root = tmp_path_factory.mktemp("hostile-text")
    trial = root / "trial"
    shutil.copytree(TRIAL, trial)
    toml = (trial / "trial.toml").read_text(encoding="utf-8")
    evil = r"<script>alert(1)</script> & \" ]]> </svg> onload=x javascript:y Ωμέγα 漢字 $x$"
    toml = toml.replace('label = "5% minoxidil"', f'label = "{evil}"', 1)
    long_label = f'label = "{"L" * 10_000}"'
    toml = toml.replace('label = "5% minoxidil + weekly microneedling"', long_label, 1)
    (trial / "trial.toml").write_text(toml, encoding="utf-8")
    ae = pd.read_csv(trial / "adverse_events.csv", dtype=str, keep_default_na=False)
    ae.loc[0, ["AETERM", "AESER"]] = ["T" * 1_000_000, "Y"]
    ae.loc[1, "AEDECOD"] = "<script>alert(2)</script>\x07\x1b"
    ae.to_csv(trial / "adverse_events.csv", index=False)
    analysis, out = root / "analysis", root / "report"
    args = ["analyze", str(trial), "--out", str(analysis)]
    run_clean(args, watched=[root], outputs=[analysis], tmpdir=root / "tmp-analyze")
    args = ["report", str(trial), "--out", str(out), "--results", str(analysis),
            "--format", "html,pdf"]  # fmt: skip
    run_clean(args, watched=[root], outputs=[out], tmpdir=root / "tmp-report")
    return out


@pytest.mark.slow
def test_hostile_text_renders_html_and_pdf(hostile_report: Path) -> None:
    assert (hostile_report / "report.pdf").stat().st_size > 10_000


@pytest.mark.slow
def test_script_in_labels_and_terms_is_inert(hostile_report: Path) -> None:
    html = (hostile_report / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34; ]]&gt; &lt;/svg&gt;" in html
    assert "Ωμέγα 漢字" in html


@pytest.mark.slow
def test_control_characters_show_as_replacements(hostile_report: Path) -> None:
    html = (hostile_report / "report.html").read_text(encoding="utf-8")
    assert "&lt;/script&gt;\ufffd\ufffd" in html and "\x07" not in html and "\x1b" not in html


@pytest.mark.slow
def test_a_1mb_cell_is_cut_with_a_marker(hostile_report: Path) -> None:
    html = (hostile_report / "report.html").read_text(encoding="utf-8")
    assert "[cut, 1,000,000 characters in all]" in html
    assert len(html) < 1_000_000


@pytest.mark.slow
def test_a_10000_character_label_is_cut_in_figures_and_tables(
    hostile_report: Path,
) -> None:
    html = (hostile_report / "report.html").read_text(encoding="utf-8")
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    assert svgs and any("[cut, 10,000 characters in all]" in svg for svg in svgs)
    assert re.search(r"\[cut, 10,0\d\d characters in all\]</th>", html)  # "LABEL (N=50)"
    assert "[cut, 10,000 characters in all]</td>" in html
