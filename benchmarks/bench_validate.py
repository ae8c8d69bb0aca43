"""Benchmark: validate a synthetic trial with 100,000 subjects and 1,000,000 assessment rows.

Run ``python benchmarks/bench_validate.py [--subjects N]``; prints a table of timings (best of
``--repeat`` runs) for the whole of ``validate_datasets`` and for its schema and
cross-dataset parts. Target: at most 3 s for the whole on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from trialkit.definition import TrialDefinition, parse_definition
from trialkit.validation import validate_datasets
from trialkit.validation.checks import cross_findings
from trialkit.validation.convert import convert_frame
from trialkit.validation.schemas import column_kinds, schema_findings, specialise

TOML = Path(__file__).parents[1] / "tests" / "fixtures" / "issue_example.toml"


def definition_with_visits(n_visits: int) -> TrialDefinition:
    """The issue's example trial with ``n_visits`` visits (baseline + 4-weekly), one parameter."""
    data = tomllib.loads(TOML.read_text())
    data["visits"] = [{"code": "BASELINE", "day": 1, "window": [-14, 0], "baseline": True}] + [
        {"code": f"WEEK{4 * k}", "day": 28 * k + 1, "window": [-7, 7]} for k in range(1, n_visits)
    ]
    data["endpoints"]["primary"]["visit"] = f"WEEK{4 * (n_visits - 1)}"
    return parse_definition(data)


def synthetic_trial(n_subjects: int, n_visits: int, seed: int = 1) -> dict[str, pd.DataFrame]:
    """Clean frames as ``read_trial_datasets`` gives them: one assessment per subject and visit."""
    rng = np.random.default_rng(seed)
    ids = pd.array([f"S{i:06d}" for i in range(n_subjects)], dtype="str")
    arms = np.array(["MINOX", "MINOX_MN", "MN_PRP"])[rng.integers(0, 3, n_subjects)]
    rand = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n_subjects), "D")
    subjects = pd.DataFrame(
        {
            "USUBJID": ids,
            "SITEID": pd.array(rng.choice(["01", "02", "03"], n_subjects), dtype="str"),
            "ARMCD": pd.array(arms, dtype="str"),
            "RANDDT": rand.astype("datetime64[ns]"),
            "AGE": rng.integers(18, 80, n_subjects),
            "SEX": pd.array(rng.choice(["M", "F"], n_subjects), dtype="str"),
            "SEVERITY": pd.array(["III"] * n_subjects, dtype="str"),
            "EOSSTT": pd.array(["ONGOING"] * n_subjects, dtype="str"),
            "EOSDT": pd.Series(pd.NaT, index=range(n_subjects), dtype="datetime64[ns]"),
            "DCSREAS": pd.array([None] * n_subjects, dtype="str"),
        }
    )
    days = np.array([1] + [28 * k + 1 for k in range(1, n_visits)])
    codes = np.array(["BASELINE"] + [f"WEEK{4 * k}" for k in range(1, n_visits)])
    subj = np.repeat(np.arange(n_subjects), n_visits)
    visit = np.tile(np.arange(n_visits), n_subjects)
    adt = rand[subj] + pd.to_timedelta(days[visit] - 1, "D")
    assessments = pd.DataFrame(
        {
            "USUBJID": ids[subj],
            "VISIT": pd.array(codes[visit], dtype="str"),
            "ADT": adt.astype("datetime64[ns]"),
            "PARAMCD": pd.array(["HAIRCNT"] * len(subj), dtype="str"),
            "AVAL": rng.integers(50, 300, len(subj)).astype("float64"),
        }
    )
    exposure = pd.DataFrame(
        {
            "USUBJID": ids,
            "EXTRT": pd.array(np.where(arms == "MN_PRP", "prp", "minoxidil"), dtype="str"),
            "EXSTDT": rand.astype("datetime64[ns]"),
            "EXENDT": (rand + pd.Timedelta(days=1)).astype("datetime64[ns]"),
            "EXDOSE": 1.0,
            "EXDOSU": pd.array(["mL"] * n_subjects, dtype="str"),
            "DEVICE": pd.array([None] * n_subjects, dtype="str"),
            "SETTING": pd.array(["clinic"] * n_subjects, dtype="str"),
            "NEEDLE_DEPTH_MM": np.nan,
            "VOLUME_ML": np.where(arms == "MN_PRP", 4.0, np.nan),
        }
    )
    adverse_events = pd.DataFrame(
        {
            "USUBJID": ids[:1000],
            "AETERM": "redness",
            "AEDECOD": "Erythema",
            "AEBODSYS": "Skin",
            "AESTDT": (rand[:1000] + pd.Timedelta(days=3)).astype("datetime64[ns]"),
            "AEENDT": (rand[:1000] + pd.Timedelta(days=5)).astype("datetime64[ns]"),
            "AESEV": "MILD",
            "AEREL": "Y",
            "AESER": "N",
        }
    ).astype({c: "str" for c in ("AETERM", "AEDECOD", "AEBODSYS", "AESEV", "AEREL", "AESER")})
    return {
        "subjects": subjects,
        "assessments": assessments,
        "exposure": exposure,
        "adverse_events": adverse_events,
    }


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """Best wall-clock time of ``repeat`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    """Build the synthetic trial, time the validation steps and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    definition = definition_with_visits(args.visits)
    frames = synthetic_trial(args.subjects, args.visits)
    a = frames["assessments"]
    schema = specialise("assessments", definition)
    converted, _ = convert_frame("assessments", a, column_kinds(schema))
    dirty = frames | {"assessments": a.assign(AVAL=np.where(np.arange(len(a)) % 100, a.AVAL, -1))}

    result = validate_datasets(definition, frames)
    assert not result.has_errors, result.findings.head().to_string()
    steps = [
        ("convert assessments", lambda: convert_frame("assessments", a, column_kinds(schema))),
        ("pandera schema, assessments", lambda: schema_findings("assessments", converted, schema)),
        ("cross-dataset checks", lambda: cross_findings(definition, frames)),
        ("validate_datasets, clean", lambda: validate_datasets(definition, frames)),
        ("validate_datasets, 1% AVAL bad", lambda: validate_datasets(definition, dirty)),
    ]
    n_dirty = len(validate_datasets(definition, dirty).findings)
    print(f"{args.subjects:,} subjects, {len(a):,} assessment rows; best of {args.repeat}")
    print(f"{'step':<34} {'seconds':>8}")
    for name, fn in steps:
        print(f"{name:<34} {best_of(args.repeat, fn):8.2f}")
    print(f"(the dirty run reports {n_dirty:,} findings)")


if __name__ == "__main__":
    main()
