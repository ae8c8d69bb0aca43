"""Render the reports as a reader would see them: headless Chromium (HTML) and poppler (PDF).

Needs the Debian packages chromium, chromium-driver and poppler-utils (and WeasyPrint with
pango for the PDF); each test skips, saying which, when its tool is absent.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .test_blinding import arm_level_numbers, leaked

pytestmark = pytest.mark.slow

IN_CI = bool(os.environ.get("CI"))  # CI installs the tools: there a missing one fails
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CONFIDENTIAL = "Confidential: for the data monitoring committee only"


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


@pytest.mark.skipif(
    CHROMIUM is None and not IN_CI, reason="chromium is not installed (apt-get install chromium)"
)
def test_html_renders_in_chromium(html_reports: dict[str, str], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(html_reports["closed"], encoding="utf-8")
    dom = _chromium(["--dump-dom", page.as_uri()], tmp_path / "profile1").stdout
    assert "TK-AGA-301" in dom and CONFIDENTIAL in dom
    assert dom.count("<svg") >= 4  # LS means, forest, diagnostics, boundaries
    assert "<script" not in dom.lower()
    shot = tmp_path / "shot.png"
    _chromium(["--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
              tmp_path / "profile2")  # fmt: skip
    assert shot.is_file() and shot.stat().st_size > 20_000
    if shutil.which("pdftotext"):  # printed from the browser: the mark on every page too
        printed = tmp_path / "printed.pdf"
        _chromium(["--no-pdf-header-footer", f"--print-to-pdf={printed}", page.as_uri()],
                  tmp_path / "profile3")  # fmt: skip
        text = subprocess.run(["pdftotext", str(printed), "-"], capture_output=True, text=True,
                              check=True).stdout  # fmt: skip
        pages = [t for t in text.split("\f") if t.strip()]
        assert len(pages) >= 5 and all(CONFIDENTIAL in t for t in pages)


def _pdf_tools() -> str | None:
    for tool in ("pdftoppm", "pdftotext"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install poppler-utils)"
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"WeasyPrint is not usable ({exc}); install pango"
    return None


@pytest.mark.skipif(_pdf_tools() is not None and not IN_CI, reason=str(_pdf_tools()))
def test_pdf_pages_and_numbers(html_reports: dict[str, str], tmp_path: Path) -> None:
    from trialkit.report.render import render_pdf

    closed, open_ = tmp_path / "closed.pdf", tmp_path / "open.pdf"
    render_pdf(html_reports["closed"], closed)
    render_pdf(html_reports["open"], open_)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(closed), str(tmp_path / "pg")], check=True)
    pages = sorted(tmp_path.glob("pg-*.png"))
    assert len(pages) >= 6
    text = subprocess.run(["pdftotext", "-layout", str(closed), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    page_texts = text.split("\f")[: len(pages)]
    assert all(CONFIDENTIAL in t for t in page_texts)  # on every page
    assert all(f"of {len(pages)}" in t for t in page_texts)  # page numbers
    assert all("TK-AGA-301" in t for t in page_texts)  # running header
    assert "<0.001" in text and "Primary analysis" in text
    m = re.search(r'<section id="primary".*?</section>', html_reports["closed"], re.S)
    assert m
    first_lsmean = re.findall(r'<td class="num">(\d+\.\d) \(\d\.\d\d\)</td>', m.group(0))[0]
    assert first_lsmean in text
    open_text = subprocess.run(["pdftotext", str(open_), "-"], capture_output=True, text=True,
                               check=True).stdout  # fmt: skip
    assert "Confidential" not in open_text
    flat = re.sub(r"\s+", " ", open_text)
    assert not leaked(arm_level_numbers(html_reports["closed"]), flat)
