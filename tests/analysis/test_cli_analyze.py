"""``trialkit analyze`` end to end on small generated trials: outputs, refusals and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from trialkit.cli import main
from trialkit.examples.bundled import write_small_trial
from trialkit.resources import schemas_dir


def _trial(tmp_path: Path, name: str = "trial", seed: int = 11) -> Path:
    return write_small_trial(tmp_path / name, seed=seed, n_per_arm=10)


def _edit_toml(trial: Path, old: str, new: str) -> None:
    path = trial / "trial.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int, str]:
    tmp = tmp_path_factory.mktemp("analyze")
    trial = _trial(tmp)
    out = tmp / "out"
    return trial, out, main(["analyze", str(trial), "--out", str(out)]), ""


@pytest.mark.slow
def test_writes_results_tables_and_adam(analysed: tuple[Path, Path, int, str]) -> None:
    trial, out, code, _ = analysed
    assert code == 0
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    model = doc["primary"]["model"]
    assert model["covariance"] == "us" and model["converged"] is True
    assert model["df_method"] == "kenward-roger"
    assert {"subjects", "observations", "minus2_log_likelihood"} <= set(model)
    assert doc["dummy"] is False
    for row in doc["primary"]["lsmeans"]:
        assert {"arm", "visit", "estimate", "se", "df", "lower", "upper"} <= set(row)
    primary = [r for r in doc["primary"]["contrasts"] if r["primary_visit"]]
    assert len(primary) == 3
    assert all(r["p_adjusted"] is not None and r["simultaneous_lower"] is not None for r in primary)
    for name in ("primary_lsmeans", "primary_contrasts", "subgroups", "population"):
        assert (out / "tables" / f"{name}.csv").exists()
    for name in ("adsl", "adbds", "adae", "adex", "analysis_primary"):
        assert (out / "adam" / f"{name}.csv").exists()
    assert not (out / "DUMMY.txt").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["command"] == "analyze"
    assert manifest["options"] == {
        "allow_errors": False,
        "dummy_seed": None,
        "previous_looks": None,
    }
    assert "results.json" in manifest["outputs"]
    assert sorted(p.name for p in trial.iterdir()) == sorted(
        ["trial.toml", *[p.name for p in trial.glob("*.csv")]]
    )


@pytest.mark.slow
def _check_schema(out: Path) -> None:
    import jsonschema

    schema = json.loads((schemas_dir() / "results.schema.json").read_text(encoding="utf-8"))
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(doc)


@pytest.mark.slow
def test_results_json_follows_the_schema(analysed: tuple[Path, Path, int, str]) -> None:
    _check_schema(analysed[1])


@pytest.mark.slow
def test_final_analysis_is_the_final_look(analysed: tuple[Path, Path, int, str]) -> None:
    """Without a cutoff or earlier looks: the final look, after the plan's planned earlier look
    (0.5), with a warning saying so."""
    _, out, code, _ = analysed
    assert code == 0
    look = json.loads((out / "results.json").read_text(encoding="utf-8"))["interim"]
    assert look["final"] is True and look["look"] == 2 and look["previous_fractions"] == [0.5]
    # the final look spends all of each arm's alpha; no conditional power
    alphas = {r["arm"]: r["alpha"] for r in look["arms"]}
    last = [b for b in look["boundaries"] if b["look"] == 2]
    assert [b["cumulative_alpha"] for b in last] == pytest.approx([alphas[b["arm"]] for b in last])
    assert all(r["conditional_power_design"] is None for r in look["arms"])
    arms = pd.read_csv(out / "tables" / "interim_arms.csv")
    assert list(arms["z"]) == pytest.approx([r["z"] for r in look["arms"]], rel=1e-15)
    bounds = pd.read_csv(out / "tables" / "interim_boundaries.csv")
    assert len(bounds) == len(look["boundaries"]) and "futility_z" in bounds.columns
    names = {t["name"] for t in json.loads((out / "results.json").read_text())["tables"]}
    assert {"interim_arms", "interim_boundaries"} <= names


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp / "missing", "results.json"),
        (lambda tmp: (tmp / "look").mkdir() or tmp / "look", "results.json"),  # empty folder
    ],
)
def test_bad_previous_looks_exit_2_naming_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, says: str
) -> None:
    from trialkit.resources import example_trials_dir

    out = tmp_path / "out"
    folder = make(tmp_path)
    args = ["analyze", str(example_trials_dir() / "tk_aga_301"), "--out", str(out)]
    assert main([*args, "--previous-looks", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(folder) in err[0] and says in err[0], err
    assert not out.exists()


def test_previous_looks_need_an_interim_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trialkit.resources import example_trials_dir

    trial = example_trials_dir() / "dhurat2013"  # no [interim] table
    out = tmp_path / "out"
    assert main(["analyze", str(trial), "--out", str(tmp_path / "first")]) == 0
    capsys.readouterr()
    args = ["analyze", str(trial), "--out", str(out), "--previous-looks", str(tmp_path / "first")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "[interim]" in err[0], err


@pytest.mark.slow
def test_existing_output_needs_force(
    analysed: tuple[Path, Path, int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    trial, out, _, _ = analysed
    capsys.readouterr()
    assert main(["analyze", str(trial), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0]


def test_unknown_covariate_fails_before_any_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = _trial(tmp_path)
    _edit_toml(trial, 'covariates = ["SITEID"]', 'covariates = ["SITEID", "WEIGHT"]')

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was set up")

    monkeypatch.setattr("trialkit.analysis.primary.MMRM.from_formula", no_model)
    assert main(["analyze", str(trial), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "analysis.covariates[1]: unknown column 'WEIGHT'" in err[0]
    assert not (tmp_path / "out").exists()


def test_unknown_subgroup_variable_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = _trial(tmp_path)
    _edit_toml(trial, 'variable = "SEVERITY"', 'variable = "HAIR_TYPE"')
    assert main(["analyze", str(trial), "--out", str(tmp_path / "out")]) == 2
    assert "subgroups[1].variable: unknown column 'HAIR_TYPE'" in capsys.readouterr().err


def test_formula_text_in_a_covariate_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = _trial(tmp_path)
    _edit_toml(trial, 'covariates = ["SITEID"]', 'covariates = ["AGE + __import__(\\"os\\")"]')
    assert main(["analyze", str(trial), "--out", str(tmp_path / "out")]) == 2
    assert "analysis.covariates[0]: " in capsys.readouterr().err


def _break_us(trial: Path) -> None:
    """Hardly any subject keeps both WEEK4 and WEEK8: the unstructured fit fails."""
    path = trial / "assessments.csv"
    a = pd.read_csv(path, dtype=str, keep_default_na=False)
    ids = sorted(set(a["USUBJID"]))
    even = {s for i, s in enumerate(ids) if i % 2 == 0}
    drop = ((a["VISIT"] == "WEEK8") & a["USUBJID"].isin(even)) | (
        (a["VISIT"] == "WEEK4") & ~a["USUBJID"].isin(even)
    )
    a.loc[~drop].to_csv(path, index=False)


@pytest.mark.slow
def test_fallback_structure_is_used_and_reported(tmp_path: Path) -> None:
    trial = _trial(tmp_path)
    _break_us(trial)
    out = tmp_path / "out"
    assert main(["analyze", str(trial), "--out", str(out)]) == 0
    model = json.loads((out / "results.json").read_text(encoding="utf-8"))["primary"]["model"]
    assert model["covariance_requested"] == "us"
    assert model["covariance"] == "toeph"
    assert model["fallback_used"] is True
    reason = model["fallback_reason"]
    assert reason.startswith("us ")
    assert "cannot be estimated" in reason or "did not converge" in reason
    assert [a["covariance"] for a in model["attempts"]] == ["us", "toeph"]


class _NotConverged:
    """Stands in for an MMRM whose fit never converges."""

    def __init__(self, covariance: str) -> None:
        self.covariance = covariance

    def fit(self, method: str = "reml", df: str = "kenward-roger") -> object:
        class _Conv:
            message = "iteration limit reached"

        class _Res:
            converged = False
            convergence = _Conv()

        return _Res()


def test_all_structures_fail_exit_1_naming_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = _trial(tmp_path)

    def fake(formula: str, data: pd.DataFrame, **kwargs: object) -> _NotConverged:
        return _NotConverged(str(kwargs["covariance"]))

    monkeypatch.setattr("trialkit.analysis.primary.MMRM.from_formula", fake)
    assert main(["analyze", str(trial), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    for cov in ("us", "toeph", "ar1h", "cs"):
        assert f"{cov}: did not converge" in err[0]
    assert not (tmp_path / "out").exists()


def _plant_error(trial: Path) -> None:
    path = trial / "assessments.csv"
    s = pd.read_csv(path, dtype=str, keep_default_na=False)
    s.loc[s.index[-1], "AVAL"] = "-5"  # TK004: below the parameter's min (a week-24 count)
    s.to_csv(path, index=False)


def test_data_with_errors_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trial = _trial(tmp_path)
    _plant_error(trial)
    assert main(["analyze", str(trial), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "validation error finding" in err[0] and "query listing" in err[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_allow_errors_analyses_and_lists_them(tmp_path: Path) -> None:
    trial = _trial(tmp_path)
    _plant_error(trial)
    out = tmp_path / "out"
    assert main(["analyze", str(trial), "--out", str(out), "--allow-errors"]) == 0
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["validation"]["allowed_errors"] is True
    assert doc["validation"]["errors"] >= 1
    assert any(f["rule"] == "TK004" for f in doc["validation"]["findings"])
    listing = pd.read_csv(out / "tables" / "validation_findings.csv")
    assert "TK004" in set(listing["rule"])
    _check_schema(out)


@pytest.mark.slow
def test_dummy_randomization_marks_every_output(tmp_path: Path) -> None:
    trial = _trial(tmp_path)
    out = tmp_path / "out"
    assert main(["analyze", str(trial), "--out", str(out), "--dummy-randomization", "7"]) == 0
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["dummy"] is True and doc["dummy_seed"] == 7
    _check_schema(out)
    assert (out / "DUMMY.txt").exists()
    for csv in [*(out / "tables").glob("*.csv"), *(out / "adam").glob("*.csv")]:
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        assert frame.columns[0] == "DUMMY", csv.name
        assert (frame["DUMMY"] == "DUMMY RANDOMIZATION").all(), csv.name
    adsl = pd.read_csv(out / "adam" / "adsl.csv", dtype=str, keep_default_na=False)
    subjects = pd.read_csv(trial / "subjects.csv", dtype=str, keep_default_na=False)
    merged = adsl.merge(subjects, on="USUBJID", suffixes=("", "_true"))
    assert (merged["ARMCD"] != merged["ARMCD_true"]).any()
    # exposure followed the new arm: nobody is flagged as treated outside the arm
    assert (merged["ACTARMCD"] == merged["ARMCD"]).all()


def test_unsupported_subgroup_plan_fails_before_any_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """AGE without cut points would make every age a level: refused, naming the key."""
    trial = _trial(tmp_path)
    _edit_toml(trial, "cuts = [40]\n", "")

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was set up")

    monkeypatch.setattr("trialkit.analysis.primary.MMRM.from_formula", no_model)
    assert main(["analyze", str(trial), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "subgroups[0].cuts: 'AGE' is numeric" in err[0]


def test_output_inside_the_trial_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial = _trial(tmp_path)
    assert main(["analyze", str(trial), "--out", str(trial / "results")]) == 2
    assert "must not be inside the trial folder" in capsys.readouterr().err
    assert not (trial / "results").exists()


@pytest.mark.slow
def test_adex_holds_the_exposure_records_analysed(tmp_path: Path) -> None:
    """adam/adex.csv: the exposure file's records of the analysed subjects at the cutoff, each
    with its file row (EXSEQ) and values as collected."""
    from trialkit.resources import example_trials_dir

    trial = example_trials_dir() / "tk_aga_301"
    out = tmp_path / "out"
    assert main(["analyze", str(trial), "--out", str(out), "--cutoff", "2024-02-15"]) == 0
    adex = pd.read_csv(out / "adam" / "adex.csv", dtype=str, keep_default_na=False)
    raw = pd.read_csv(trial / "exposure.csv", dtype=str, keep_default_na=False)
    adsl = pd.read_csv(out / "adam" / "adsl.csv", dtype=str)
    assert set(adex["USUBJID"]) <= set(adsl["USUBJID"])
    rows = raw.iloc[adex["EXSEQ"].astype(int) - 1].reset_index(drop=True)
    assert (adex["EXSTDT"] <= "2024-02-15").all() and len(adex) < len(raw)
    for column in ("USUBJID", "EXTRT", "EXSTDT"):
        assert list(adex[column]) == list(rows[column]), column
    assert list(adex["EXDOSE"].astype(float)) == list(rows["EXDOSE"].astype(float))


@pytest.mark.slow
def test_allow_errors_names_the_subjects_left_out(tmp_path: Path) -> None:
    """A subject without a randomisation date is left out of ITT: results.json and the report
    name it and say why."""
    trial = _trial(tmp_path)
    path = trial / "subjects.csv"
    s = pd.read_csv(path, dtype=str, keep_default_na=False)
    s.loc[3, "RANDDT"] = ""
    dropped = s.loc[3, "USUBJID"]
    s.to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["analyze", str(trial), "--out", str(out), "--allow-errors"]) == 0
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert doc["population"]["excluded"] == [
        {"USUBJID": dropped, "reason": "no randomisation date (RANDDT)"}
    ]
    report = tmp_path / "report"
    args = ["report", str(trial), "--results", str(out), "--out", str(report), "--format", "html"]
    assert main(args) == 0
    html = (report / "report.html").read_text(encoding="utf-8")
    assert dropped in html and "no randomisation date (RANDDT)" in html
