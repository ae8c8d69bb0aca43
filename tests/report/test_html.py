"""HTML reports: escaping, self-containment, sections, missing results, template overrides."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trialkit.cli import main
from trialkit.report.formatting import fmt_num
from trialkit.report.render import safe_svg

from .analysis_results import write_test_results
from .conftest import render
from .test_blinding import text_of


def test_script_in_ae_term_is_inert(html_reports: dict[str, str]) -> None:
    for html in html_reports.values():
        assert "<script" not in html.lower()
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_script_in_trial_title_and_site_is_inert(small_trial: Path, tmp_path: Path) -> None:
    trial = tmp_path / "trial"
    trial.mkdir()
    for f in small_trial.iterdir():
        (trial / f.name).write_bytes(f.read_bytes())
    toml = (trial / "trial.toml").read_text(encoding="utf-8")
    toml = re.sub(r'(?m)^title = ".*"$', 'title = "<img src=x onerror=alert(1)>"', toml, count=1)
    (trial / "trial.toml").write_text(toml, encoding="utf-8")
    subjects = (trial / "subjects.csv").read_text(encoding="utf-8")
    first_site = subjects.splitlines()[1].split(",")[2]
    (trial / "subjects.csv").write_text(
        subjects.replace(f",{first_site},", ",<b>$x$</b>,"), encoding="utf-8"
    )
    results = write_test_results(trial, tmp_path / "results")
    for blinded in (False, True):
        html = render(trial, results, "interim", blinded=blinded)
        assert "<img" not in html and "<b>" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_reports_are_self_contained(html_reports: dict[str, str]) -> None:
    for html in html_reports.values():
        assert not re.search(r"<(script|link|img|iframe|object)\b", html, re.I)
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", html, re.I)
        assert "@import" not in html
        assert not re.search(r"url\(\s*['\"]?(?!#)", html)  # only in-document references


def test_sections_of_each_kind(html_reports: dict[str, str]) -> None:
    final, closed, open_ = html_reports["final"], html_reports["closed"], html_reports["open"]
    for name in ("consort", "baseline", "data_quality", "primary", "lsmeans", "responders",
                 "forest", "sensitivity", "secondary", "safety", "exposure", "diagnostics",
                 "estimand", "appendix", "signoff"):  # fmt: skip
        assert f'id="{name}"' in final
        assert f'id="{name}"' in closed
    assert 'id="boundaries"' in closed and 'id="boundaries"' not in final
    for name in ("recruitment", "retention", "information", "data_quality", "baseline",
                 "safety_pooled"):  # fmt: skip
        assert f'id="{name}"' in open_
    assert "Confidential: for the data monitoring committee only" in closed
    assert "Confidential" not in final and "Confidential" not in open_
    assert "<svg" in final and "LS mean change from baseline (hairs/cm2)" in final


def test_missing_results_render_a_note(small_trial: Path, tmp_path: Path) -> None:
    results = write_test_results(small_trial, tmp_path / "r", drop=("subgroups", "sensitivity"))
    html = render(small_trial, results)
    assert "Subgroup analyses: not available in these results." in html
    assert "Sensitivity analyses: not available in these results." in html


def _section(html: str, name: str) -> str:
    """A section's markup without its figures."""
    m = re.search(rf'<section id="{name}".*?</section>', html, re.S)
    assert m, name
    return re.sub(r"<svg.*?</svg>", "", m.group(0), flags=re.S)


def test_closed_report_presents_the_look_of_results_json(
    html_reports: dict[str, str], analysis_output: Path
) -> None:
    """Boundaries, observed z and crossings as results.json has them: nothing recomputed."""
    look = json.loads((analysis_output / "results.json").read_text(encoding="utf-8"))["interim"]
    section = _section(html_reports["closed"], "boundaries")
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", section)
    for row in look["arms"]:
        i = cells.index(fmt_num(row["z"], 3))
        assert cells[i + 2] == fmt_num(row["efficacy_z"], 3)
        assert cells[i + 3] == ("crossed" if row["efficacy_crossed"] else "not crossed")
        assert cells[i - 1] == f"{row['alpha']:.4g}"
    rows = [b for b in look["boundaries"] if b["arm"] == look["arms"][0]["arm"]]
    for b in rows:
        assert fmt_num(b["efficacy_z"], 3) in cells
        assert f"{b['cumulative_alpha']:.4g}" in cells
    assert "O&#39;Brien-Fleming" in section and "crossed" in section
    assert "<svg" in re.search(r'<section id="boundaries".*?</section>', html_reports["closed"],
                               re.S).group(0)  # type: ignore[union-attr]  # fmt: skip
    assert "Group sequential monitoring: not available" not in html_reports["closed"]


def test_each_share_of_alpha_gets_its_own_boundaries(small_trial: Path, tmp_path: Path) -> None:
    trial = tmp_path / "trial"
    trial.mkdir()
    for p in small_trial.iterdir():
        (trial / p.name).write_bytes(p.read_bytes())
    toml = (trial / "trial.toml").read_text(encoding="utf-8")
    toml = toml.replace('alpha_sharing = "split_equally"', "alpha_sharing = [0.0125, 0.01, 0.0025]")
    (trial / "trial.toml").write_text(toml, encoding="utf-8")
    results = write_test_results(trial, tmp_path / "r")
    look = json.loads((results / "results.json").read_text(encoding="utf-8"))["interim"]
    assert [r["alpha"] for r in look["arms"]] == [0.0125, 0.01, 0.0025]
    section = _section(render(trial, results, "interim", blinded=False), "boundaries")
    assert section.count("Boundaries of ") == 3
    for row in look["arms"]:
        assert fmt_num(row["efficacy_z"], 3) in section
    assert len({r["efficacy_z"] for r in look["arms"]}) == 3


def test_without_a_look_the_monitoring_section_is_not_available(
    small_trial: Path, tmp_path: Path
) -> None:
    results = write_test_results(small_trial, tmp_path / "r", drop=("interim",))
    closed = render(small_trial, results, "interim", blinded=False)
    assert "Group sequential monitoring: not available in these results." in closed
    open_ = render(small_trial, results, "interim", blinded=True)
    assert "Information reached (group sequential design): not available" in open_


def test_open_report_shows_the_information_fraction_only(
    html_reports: dict[str, str], analysis_output: Path
) -> None:
    look = json.loads((analysis_output / "results.json").read_text(encoding="utf-8"))["interim"]
    info = _section(html_reports["open"], "information")
    assert fmt_num(look["information_fraction"], 3) in info
    assert 'id="boundaries"' not in html_reports["open"]
    visible = text_of(html_reports["open"])
    for row in look["arms"]:
        for key in ("z", "efficacy_z"):
            assert fmt_num(row[key], 3) not in visible, key


def test_figures_are_deterministic(small_trial: Path, analysis_output: Path) -> None:
    assert render(small_trial, analysis_output) == render(small_trial, analysis_output)


def test_svg_ids_are_unique(html_reports: dict[str, str]) -> None:
    ids = re.findall(r'\sid="([^"]+)"', html_reports["final"])
    assert len(ids) == len(set(ids))


def test_every_figure_passes_the_svg_check(html_reports: dict[str, str]) -> None:
    figures = re.findall(r"<svg.*?</svg>", html_reports["closed"], re.S)
    assert len(figures) >= 4
    for svg in figures:
        safe_svg(svg)


def test_user_templates_override_a_section(small_trial: Path, analysis_output: Path,
                                           tmp_path: Path) -> None:  # fmt: skip
    from trialkit.definition import load_definition
    from trialkit.report import AnalysisOutput, ReportOptions, build_report

    user = tmp_path / "templates"
    (user / "sections").mkdir(parents=True)
    (user / "signoff.html.j2").write_text("<p>Sponsor sign-off: {{ report.trial_id }}</p>\n")
    (user / "sections" / "estimand.html.j2").write_text(
        '<div class="brand">ACME</div>{% include "default:sections/estimand.html.j2" %}'
    )
    html = build_report(
        load_definition(small_trial), AnalysisOutput.load(analysis_output), ReportOptions(),
        templates=user,
    )  # fmt: skip
    assert "Sponsor sign-off: " in html and "Prepared by" not in html
    assert '<div class="brand">ACME</div>' in html and "as if no subject had discontinued" in html


def test_cli_report_html_only(small_trial: Path, analysis_output: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(["report", str(small_trial), "--out", str(out), "--results", str(analysis_output),
                 "--format", "html"])  # fmt: skip
    assert code == 0
    assert (out / "report.html").is_file() and not (out / "report.pdf").exists()
    assert (out / "manifest.json").is_file()
    assert (
        main(
            [
                "report",
                str(small_trial),
                "--out",
                str(out),
                "--format",
                "html",
                "--results",
                str(analysis_output),
            ]
        )
        == 2
    )  # fmt: skip  (exists, no --force)


@pytest.mark.parametrize(
    "args",
    [["--kind", "interim", "--cutoff", "2030-01-01"], ["--kind", "interim", "--blinded"],
     ["--blinded"], ["--format", "docx"], ["--kind", "weekly"]],
)  # fmt: skip
def test_cli_refuses_bad_options(small_trial: Path, analysis_output: Path, tmp_path: Path,
                                 args: list[str]) -> None:  # fmt: skip
    code = main(["report", str(small_trial), "--out", str(tmp_path / "o"), "--results",
                 str(analysis_output), *args])  # fmt: skip
    assert code == 2
    assert not (tmp_path / "o").exists()


def test_dummy_randomization_is_marked(small_trial: Path, tmp_path: Path) -> None:
    import json

    results = write_test_results(small_trial, tmp_path / "r")
    data = json.loads((results / "results.json").read_text())
    data["dummy"], data["dummy_seed"] = True, 7
    (results / "results.json").write_text(json.dumps(data))
    for blinded in (False, True):
        assert "DUMMY RANDOMIZATION" in render(small_trial, results, "interim", blinded)
    plain = render(small_trial, write_test_results(small_trial, tmp_path / "r2"))
    assert "DUMMY RANDOMIZATION" not in plain
