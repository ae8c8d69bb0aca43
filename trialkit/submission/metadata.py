"""The one metadata table of the submission: every exported dataset and variable with its
ADaM name, label, type, display format, origin, source column and derivation method.

``adam.py`` builds the datasets from it, ``xpt.py`` writes it, ``define.py`` describes it, and
``docs/submission.md`` shows it: nothing else spells a name or label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from trialkit.treatments import KINDS

Kind = Literal["text", "float", "integer", "date"]

#: Variables that copy another analysis column in every dataset (ADaM's treatment names).
COPIES = {"TRT01P": "ARM", "TRT01A": "ACTARM", "TRTP": "ARM", "TRTA": "ACTARM"}

#: SAS display format of dates (SAS numeric dates: days since 1960-01-01).
DATE_FORMAT = "DATE9."


@dataclass(frozen=True)
class Variable:
    """One ADaM variable: ``source`` is the analysis column it equals (None: set here)."""

    name: str
    label: str
    kind: Kind
    origin: Literal["Predecessor", "Derived", "Assigned"] = "Predecessor"
    method: str | None = None
    codelist: str | None = None

    @property
    def display_format(self) -> str | None:
        """DATE9. for dates, none otherwise."""
        return DATE_FORMAT if self.kind == "date" else None


def _vars(*rows: tuple[str, str, Kind] | Variable) -> dict[str, Variable]:
    out: dict[str, Variable] = {}
    for row in rows:
        v = row if isinstance(row, Variable) else Variable(*row)
        out[v.name] = v
    return out


#: Short codes of the treatment kinds (trialkit.treatments) in ADaM names: ADSL's
#: DRUG_DAYS_<KIND> is <CODE>DAYS (a test checks every kind has one).
TREATMENT_CODES: dict[str, str] = {
    "minoxidil": "MINX",
    "finasteride": "FIN",
    "microneedling": "MN",
    "prp": "PRP",
    "dutasteride": "DUT",
    "vehicle": "VEH",
    "placebo": "PBO",
    "sham_microneedling": "SHMN",
    "saline_injection": "SAL",
    "other": "OTH",
}
DRUG_DAYS = {f"{code}DAYS": f"DRUG_DAYS_{kind.upper()}" for kind, code in TREATMENT_CODES.items()}
#: Procedures' session counts in ADSL: <SHORT>_SESSIONS is <CODE>SESS and
#: PLANNED_<SHORT>_SESSIONS is <CODE>SSPL (SHAM_MN_SESSIONS -> SHMNSESS, SHMNSSPL).
PROCEDURES = {kind: TREATMENT_CODES[kind] for kind, k in KINDS.items() if k.procedure and k.short}
SESSIONS = {
    name: column
    for kind, code in PROCEDURES.items()
    for name, column in (
        (f"{code}SESS", f"{KINDS[kind].short}_SESSIONS"),
        (f"{code}SSPL", f"PLANNED_{KINDS[kind].short}_SESSIONS"),
    )
}

#: Every variable by ADaM name (a name means the same in every dataset).
VARIABLES: dict[str, Variable] = _vars(
    ("STUDYID", "Study Identifier", "text"),
    ("USUBJID", "Unique Subject Identifier", "text"),
    Variable("SUBJID", "Subject Identifier for the Study", "text", "Derived", "MT.SUBJID"),
    ("SITEID", "Study Site Identifier", "text"),
    Variable("SITEGR1", "Pooled Site Group 1", "text", "Derived", "MT.SITEGR1"),
    Variable("ARMCD", "Planned Arm Code", "text", codelist="CL.ARMCD"),
    Variable("ARM", "Description of Planned Arm", "text", codelist="CL.ARM"),
    Variable("ACTARMCD", "Actual Arm Code", "text", "Derived", "MT.ACTARMCD", "CL.ARMCD"),
    Variable("ACTARM", "Description of Actual Arm", "text", "Derived", "MT.ACTARMCD", "CL.ARM"),
    Variable(
        "ACTARMFL", "Actual Arm Matches No Arm Flag", "text", "Derived", "MT.ACTARMCD", "CL.YN"
    ),
    Variable("TRT01P", "Planned Treatment for Period 01", "text", "Derived", "MT.TRTP", "CL.ARM"),
    Variable("TRT01A", "Actual Treatment for Period 01", "text", "Derived", "MT.TRTA", "CL.ARM"),
    Variable("TRTP", "Planned Treatment", "text", "Derived", "MT.TRTP", "CL.ARM"),
    Variable("TRTA", "Actual Treatment", "text", "Derived", "MT.TRTA", "CL.ARM"),
    ("RANDDT", "Date of Randomization", "date"),
    Variable("TRTSDT", "Date of First Exposure to Treatment", "date", "Derived", "MT.TRTSDT"),
    Variable("TRTEDT", "Date of Last Exposure to Treatment", "date", "Derived", "MT.TRTEDT"),
    ("AGE", "Age", "integer"),
    Variable("AGEU", "Age Units", "text", "Assigned"),
    Variable("AGEGR1", "Pooled Age Group 1", "text", "Derived", "MT.AGEGR1"),
    ("SEX", "Sex", "text"),
    ("SEVERITY", "Baseline Disease Severity (Stratum)", "text"),
    ("EOSSTT", "End of Study Status", "text"),
    ("EOSDT", "End of Study Date", "date"),
    ("DCSREAS", "Reason for Discontinuation from Study", "text"),
    Variable("DISCDT", "Date of Treatment Discontinuation", "date", "Derived", "MT.DISCDT"),
    Variable("RESCDT", "Date of First Rescue Medication", "date", "Derived", "MT.RESCDT"),
    *(
        Variable(
            f"{code}SESS",
            f"Sessions Given: {kind.replace('_', ' ')}",
            "integer",
            "Derived",
            "MT.SESSIONS",
        )
        for kind, code in PROCEDURES.items()
    ),
    *(
        Variable(
            f"{code}SSPL",
            f"Sessions Planned: {kind.replace('_', ' ')}",
            "float",
            "Derived",
            "MT.PLANNED",
        )
        for kind, code in PROCEDURES.items()
    ),
    Variable("MNDEPMN", "Mean Needle Depth (mm)", "float", "Derived", "MT.DEPTH"),
    Variable("MNDEPMX", "Maximum Needle Depth (mm)", "float", "Derived", "MT.DEPTH"),
    Variable("PRPVOLT", "Total PRP Volume (mL)", "float", "Derived", "MT.PRPVOL"),
    *(
        Variable(
            f"{code}DAYS",
            f"Days Dispensed: {kind.replace('_', ' ')}",
            "integer",
            "Derived",
            "MT.DRUGDAYS",
        )
        for kind, code in TREATMENT_CODES.items()
    ),
    Variable("ITTFL", "Intent-To-Treat Population Flag", "text", "Derived", "MT.ITTFL", "CL.YN"),
    Variable("MITTFL", "Modified ITT Population Flag", "text", "Derived", "MT.MITTFL", "CL.YN"),
    Variable("SAFFL", "Safety Population Flag", "text", "Derived", "MT.SAFFL", "CL.YN"),
    Variable("PPROTFL", "Per-Protocol Population Flag", "text", "Derived", "MT.PPROTFL", "CL.YN"),
    Variable("PPREASON", "Reason Excluded from Per-Protocol", "text", "Derived", "MT.PPROTFL"),
    Variable("PARAMCD", "Parameter Code", "text", codelist="CL.PARAMCD"),
    Variable("PARAM", "Parameter", "text", codelist="CL.PARAM"),
    ("VISIT", "Visit Name (as Collected)", "text"),
    Variable("AVISIT", "Analysis Visit", "text", "Derived", "MT.AVISIT", "CL.AVISIT"),
    Variable("AVISITN", "Analysis Visit (N)", "integer", "Derived", "MT.AVISIT"),
    ("ADT", "Analysis Date", "date"),
    Variable("ADY", "Analysis Relative Day", "integer", "Derived", "MT.STUDYDAY"),
    ("AVAL", "Analysis Value", "float"),
    Variable("ABLFL", "Baseline Record Flag", "text", "Derived", "MT.ABLFL", "CL.Y"),
    Variable("BASE", "Baseline Value", "float", "Derived", "MT.ABLFL"),
    Variable("CHG", "Change from Baseline", "float", "Derived", "MT.CHG"),
    Variable("PCHG", "Percent Change from Baseline", "float", "Derived", "MT.PCHG"),
    Variable("PCHGNOTE", "Why PCHG Is Missing", "text", "Derived", "MT.PCHG"),
    Variable("ANL01FL", "Analysis Flag 01", "text", "Derived", "MT.ANL01FL", "CL.Y"),
    Variable("AWTARGET", "Analysis Window Target", "integer", "Derived", "MT.AVISIT"),
    Variable("AWLO", "Analysis Window Beginning Timepoint", "integer", "Derived", "MT.AVISIT"),
    Variable("AWHI", "Analysis Window Ending Timepoint", "integer", "Derived", "MT.AVISIT"),
    Variable("AWTDIFF", "Analysis Window Diff from Target", "integer", "Derived", "MT.ANL01FL"),
    Variable("SRCSEQ", "Source Row (0-based) in Collected File", "integer", "Derived", "MT.SRCSEQ"),
    Variable("DISCFL", "After Treatment Discontinuation Flag", "text", "Derived", "MT.ICE", "CL.Y"),
    Variable("RESCFL", "After Rescue Medication Flag", "text", "Derived", "MT.ICE", "CL.Y"),
    Variable("ICEFL", "Set Missing by Estimand Flag", "text", "Derived", "MT.ICE", "CL.Y"),
    Variable("ICEREAS", "Intercurrent Event Setting Value Missing", "text", "Derived", "MT.ICE"),
    Variable("CRITy", "Analysis Criterion y", "text", "Derived", "MT.CRITy"),
    Variable(
        "CRITyFL", "Criterion y Evaluation Result Flag", "text", "Derived", "MT.CRITy", "CL.YN"
    ),
    Variable("ALRTIND", "Alert Limit Indicator", "text", "Derived", "MT.ALRT", "CL.ALRTIND"),
    Variable("ALRTFL", "Beyond Alert Limit Flag", "text", "Derived", "MT.ALRT", "CL.Y"),
    ("AESEQ", "Sequence Number", "integer"),
    ("AETERM", "Reported Term for the Adverse Event", "text"),
    ("AEDECOD", "Dictionary-Derived Term", "text"),
    ("AEBODSYS", "Body System or Organ Class", "text"),
    ("ASTDT", "Analysis Start Date", "date"),
    ("AENDT", "Analysis End Date", "date"),
    Variable("AESEV", "Severity/Intensity", "text", codelist="CL.AESEV"),
    Variable("ASEVN", "Analysis Severity/Intensity (N)", "integer", "Derived", "MT.ASEVN"),
    Variable("AEREL", "Causality", "text", codelist="CL.YN"),
    Variable("AESER", "Serious Event", "text", codelist="CL.YN"),
    Variable(
        "TRTEMFL", "Treatment Emergent Analysis Flag", "text", "Derived", "MT.TRTEMFL", "CL.Y"
    ),
    Variable("ASTDY", "Analysis Start Relative Day", "integer", "Derived", "MT.STUDYDAY"),
    Variable("AENDY", "Analysis End Relative Day", "integer", "Derived", "MT.STUDYDAY"),
    ("EXSEQ", "Sequence Number (Row in Exposure File)", "integer"),
    ("EXTRT", "Name of Treatment", "text"),
    ("EXDOSE", "Dose", "float"),
    ("EXDOSU", "Dose Units", "text"),
    ("EXDOSFRQ", "Dosing Frequency per Interval", "text"),
    ("DEVICE", "Device", "text"),
    ("SETTING", "Setting (Home or Clinic)", "text"),
    ("NDLDEPTH", "Needle Depth (mm)", "float"),
    ("VOLML", "Volume Injected (mL)", "float"),
    Variable("DUMMY", "Dummy Randomization Marker", "text", "Assigned"),
    ("ANALYSIS", "Analysis", "text"),
    ("ENDPOINT", "Endpoint", "text"),
    Variable("ARDARM", "Arm (or TOTAL)", "text"),
    Variable("ARDREF", "Comparator Arm", "text"),
    ("STAT", "Statistic", "text"),
    ("STATVAL", "Value of the Statistic", "float"),
    ("SOURCE", "Where in results.json", "text"),
)


@dataclass(frozen=True)
class DatasetSpec:
    """One exported dataset: ``source`` is its analysis CSV (``adam/<source>.csv``)."""

    name: str
    label: str
    klass: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[str, ...]
    #: ADaM name -> analysis column, where they differ.
    renames: dict[str, str] = field(default_factory=dict)
    source: str | None = None


SUBJECT_KEYS = (
    "STUDYID",
    "USUBJID",
    "SUBJID",
    "SITEID",
    "SITEGR1",
    "ARMCD",
    "ARM",
    "ACTARMCD",
    "ACTARM",
)
BDS_VARIABLES = (
    "STUDYID",
    "USUBJID",
    "SITEID",
    "SITEGR1",
    "ARMCD",
    "ACTARMCD",
    "TRTP",
    "TRTA",
    "RANDDT",
    "TRTSDT",
    "TRTEDT",
    "ITTFL",
    "MITTFL",
    "SAFFL",
    "PPROTFL",
    "SEVERITY",
    "PARAMCD",
    "PARAM",
    "VISIT",
    "AVISIT",
    "AVISITN",
    "ADT",
    "ADY",
    "AVAL",
    "ABLFL",
    "BASE",
    "CHG",
    "PCHG",
    "PCHGNOTE",
    "ANL01FL",
    "AWTARGET",
    "AWLO",
    "AWHI",
    "AWTDIFF",
    "DISCDT",
    "RESCDT",
    "DISCFL",
    "RESCFL",
    "ICEFL",
    "ICEREAS",
    "SRCSEQ",
)
BDS_KEYS = ("STUDYID", "USUBJID", "PARAMCD", "ADT", "SRCSEQ")
#: The responder criteria's place in ADEFF: CRITy/CRITyFL stand for CRIT1, CRIT1FL, CRIT2, ...
#: (one pair per criterion of trialkit.submission.criteria; see :func:`with_criteria`).
CRITERIA = ("CRITy", "CRITyFL")
_AFTER_FLAG = BDS_VARIABLES.index("ANL01FL") + 1
#: The alert-limit variables of ADVS (vital signs).
ALERTS = ("ALRTIND", "ALRTFL")
_CRITERION = re.compile(r"CRIT([1-9][0-9]?)(FL)?")


def variable(name: str) -> Variable | None:
    """The metadata of variable ``name`` (CRIT1, CRIT2FL ... from CRITy, CRITyFL), None when
    the table does not know it."""
    match = _CRITERION.fullmatch(name)
    if match is None:
        return VARIABLES.get(name)
    y, flag = match.groups()
    generic = VARIABLES[CRITERIA[1] if flag else CRITERIA[0]]
    label = generic.label.replace("Criterion y", f"Criterion {y}")
    return replace(generic, name=name, label=label, method=f"MT.CRIT{y}")


def with_criteria(spec: DatasetSpec, count: int) -> DatasetSpec:
    """``spec`` with CRITy/CRITyFL numbered for ``count`` criteria (none: removed)."""
    numbered = [n for y in range(1, count + 1) for n in (f"CRIT{y}", f"CRIT{y}FL")]
    names: list[str] = []
    for name in spec.variables:
        if name == CRITERIA[0]:
            names.extend(numbered)
        elif name != CRITERIA[1]:
            names.append(name)
    return replace(spec, variables=tuple(names))


DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        "ADSL",
        "Subject-Level Analysis Dataset",
        "SUBJECT LEVEL ANALYSIS DATASET",
        "One record per subject",
        ("STUDYID", "USUBJID"),
        (
            *SUBJECT_KEYS,
            "ACTARMFL",
            "TRT01P",
            "TRT01A",
            "RANDDT",
            "TRTSDT",
            "TRTEDT",
            "AGE",
            "AGEU",
            "AGEGR1",
            "SEX",
            "SEVERITY",
            "EOSSTT",
            "EOSDT",
            "DCSREAS",
            "DISCDT",
            "RESCDT",
            *SESSIONS,
            "MNDEPMN",
            "MNDEPMX",
            "PRPVOLT",
            *DRUG_DAYS,
            "ITTFL",
            "MITTFL",
            "SAFFL",
            "PPROTFL",
            "PPREASON",
        ),
        {
            **SESSIONS,
            "MNDEPMN": "MEAN_NEEDLE_DEPTH",
            "MNDEPMX": "MAX_NEEDLE_DEPTH",
            "PRPVOLT": "PRP_VOLUME_TOTAL",
            **DRUG_DAYS,
        },
        source="adsl",
    ),
    DatasetSpec(
        "ADEFF",
        "Efficacy Analysis Dataset (BDS)",
        "BASIC DATA STRUCTURE",
        "One record per subject per parameter per collected assessment",
        BDS_KEYS,
        (*BDS_VARIABLES[:_AFTER_FLAG], *CRITERIA, *BDS_VARIABLES[_AFTER_FLAG:]),
        source="adbds",
    ),
    DatasetSpec(
        "ADVS",
        "Vital Signs Analysis Dataset (BDS)",
        "BASIC DATA STRUCTURE",
        "One record per subject per parameter per collected measurement",
        BDS_KEYS,
        (*BDS_VARIABLES[:_AFTER_FLAG], *ALERTS, *BDS_VARIABLES[_AFTER_FLAG:]),
        source="advs",
    ),
    DatasetSpec(
        "ADAE",
        "Adverse Events Analysis Dataset",
        "OCCURRENCE DATA STRUCTURE",
        "One record per adverse event",
        ("STUDYID", "USUBJID", "AESEQ"),
        (
            "STUDYID",
            "USUBJID",
            "SITEID",
            "SITEGR1",
            "ARMCD",
            "ARM",
            "ACTARMCD",
            "ACTARM",
            "TRTA",
            "SAFFL",
            "RANDDT",
            "TRTSDT",
            "TRTEDT",
            "AESEQ",
            "AETERM",
            "AEDECOD",
            "AEBODSYS",
            "ASTDT",
            "AENDT",
            "ASTDY",
            "AENDY",
            "AESEV",
            "ASEVN",
            "AEREL",
            "AESER",
            "TRTEMFL",
            "SRCSEQ",
        ),
        {"ASTDT": "AESTDT", "AENDT": "AEENDT"},
        source="adae",
    ),
    DatasetSpec(
        "ADEX",
        "Exposure Analysis Dataset",
        "OCCURRENCE DATA STRUCTURE",
        "One record per exposure record (dispensing or session)",
        ("STUDYID", "USUBJID", "EXSEQ"),
        (
            "STUDYID",
            "USUBJID",
            "SITEID",
            "ARMCD",
            "ARM",
            "ACTARMCD",
            "ACTARM",
            "TRTA",
            "SAFFL",
            "TRTSDT",
            "TRTEDT",
            "EXSEQ",
            "EXTRT",
            "ASTDT",
            "AENDT",
            "EXDOSE",
            "EXDOSU",
            "EXDOSFRQ",
            "DEVICE",
            "SETTING",
            "NDLDEPTH",
            "VOLML",
        ),
        {
            "ASTDT": "EXSTDT",
            "AENDT": "EXENDT",
            "NDLDEPTH": "NEEDLE_DEPTH_MM",
            "VOLML": "VOLUME_ML",
        },
        source="adex",
    ),
    DatasetSpec(
        "ARD",
        "Analysis Results Data (results.json)",
        "ADAM OTHER",
        "One record per reported statistic",
        ("SOURCE",),
        (
            "STUDYID",
            "ANALYSIS",
            "ENDPOINT",
            "ARDARM",
            "ARDREF",
            "AVISIT",
            "STAT",
            "STATVAL",
            "SOURCE",
        ),
    ),
)


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of dataset ``name`` (ADSL, ADEFF, ...)."""
    return next(d for d in DATASETS if d.name == name)


#: Derivation methods, in words (from docs/derivations.md), by method OID.
METHODS: dict[str, str] = {
    "MT.SUBJID": (
        "subjects.SUBJID when the subjects dataset has that column (origin then Predecessor); "
        "else USUBJID without its leading 'STUDYID-' (USUBJID itself when it has none)."
    ),
    "MT.SITEGR1": (
        "Sites with fewer than analysis.pool_sites_min_size randomised subjects pooled into "
        "POOLED (a small pooled group joins the smallest site); SITEID without pooling."
    ),
    "MT.ACTARMCD": (
        "The arm whose set of components equals the treatments received (EXTRT); the "
        "randomised arm when none matches exactly, with ACTARMFL = Y."
    ),
    "MT.TRTP": "The label of the planned arm (ARM).",
    "MT.TRTA": "The label of the actual arm (ACTARM, the label of ACTARMCD).",
    "MT.TRTSDT": "First EXSTDT over all study treatments (microneedling and PRP included).",
    "MT.TRTEDT": "Latest of EXENDT and EXSTDT over all exposure records.",
    "MT.AGEGR1": "AGE grouped by the analysis.age_groups cuts: <c1, c1-(c2-1), ..., >=ck.",
    "MT.DISCDT": "EOSDT when EOSSTT = DISCONTINUED (discontinuing treatment is leaving the study).",
    "MT.RESCDT": "First CMSTDT of a concomitant medication with CMRESCUE = Y.",
    "MT.SESSIONS": "Number of exposure records of the procedure.",
    "MT.PLANNED": (
        "From the randomised arm: sessions when given, else one per interval_days strictly "
        "before the last scheduled visit; 0 without the procedure."
    ),
    "MT.DEPTH": "Mean or maximum NEEDLE_DEPTH_MM over microneedling records.",
    "MT.PRPVOL": "Sum of VOLUME_ML over PRP records.",
    "MT.DRUGDAYS": "Sum over dispensing records of EXENDT - EXSTDT + 1 (1 without EXENDT).",
    "MT.ITTFL": "Y when randomised (RANDDT and ARMCD present).",
    "MT.MITTFL": (
        "Y when randomised with a baseline and at least one post-baseline analysis value of "
        "the primary parameter."
    ),
    "MT.SAFFL": "Y when the subject has at least one exposure record.",
    "MT.PPROTFL": (
        "Per-protocol criteria in order: randomised, enough sessions, exposure within protocol, "
        "primary visit value, treated as randomised; PPREASON names the first failed."
    ),
    "MT.AVISIT": (
        "Post-baseline records slotted by ADY into windows around the visits' target days "
        "(a window ends half-way to the next target); the baseline record gets the baseline "
        "visit; AVISITN is the target day."
    ),
    "MT.STUDYDAY": "Date - RANDDT + 1 on or after RANDDT, date - RANDDT before (no day 0).",
    "MT.ABLFL": (
        "Baseline: the last non-missing value on or before TRTSDT (RANDDT if never exposed); "
        "BASE is its AVAL on every record of the subject and parameter."
    ),
    "MT.CHG": "AVAL - BASE on post-baseline records.",
    "MT.PCHG": "100 x CHG / BASE on post-baseline records; missing when BASE = 0 (PCHGNOTE).",
    "MT.ANL01FL": (
        "The baseline record and, per subject, parameter and post-baseline visit, the value "
        "closest to the target day (ties: earlier date, scheduled visit, earlier row)."
    ),
    "MT.SRCSEQ": "The 0-based row of the collected record in its file.",
    "MT.ICE": (
        "DISCFL/RESCFL: record after DISCDT/RESCDT; under the hypothetical strategy AVAL, "
        "CHG and PCHG after the event are set missing (ICEFL = Y, ICEREAS the earliest event)."
    ),
    "MT.ALRT": (
        "ALRTIND: LOW when AVAL < the parameter's alert_low, HIGH when AVAL > alert_high, "
        "NORMAL otherwise (missing without AVAL or limits); ALRTFL: Y when LOW or HIGH."
    ),
    "MT.ASEVN": "AESEV coded MILD = 1, MODERATE = 2, SEVERE = 3.",
    "MT.TRTEMFL": (
        "Y when TRTSDT <= AESTDT <= TRTEDT + analysis.ae_lag_days, or AESTDT missing in a "
        "treated subject."
    ),
}

#: Comments on datasets (by name).
DATASET_COMMENTS: dict[str, str] = {
    "ADSL": "adam/adsl.csv of the analysis, renamed to ADaM names.",
    "ADEFF": (
        "One BDS for every efficacy parameter (PARAMCD rows), adam/adbds.csv of the analysis "
        "(estimand applied). Continuous primary: PARAMCD = primary parameter, ANL01FL = Y, "
        "ABLFL missing, population flag Y, post-baseline AVISIT, CHG and BASE present. Binary "
        "primary: its ANL01FL = Y record at the primary visit, CRIT1FL the response (no record "
        "or CRIT1FL blank: as endpoints.primary.missing says). CRITy: the plan's responder rules."
    ),
    "ADVS": "Vital signs BDS (kind = safety parameters), adam/advs.csv of the analysis.",
    "ADAE": "adam/adae.csv of the analysis.",
    "ADEX": (
        "adam/adex.csv of the analysis: the exposure records analysed (cutoff and dummy "
        "randomisation applied) of ADSL subjects; EXSEQ is the record's row in the file."
    ),
    "ARD": (
        "Every statistic of results.json's primary analysis and population, and of the "
        "secondary endpoints' tables results.json names, one a row."
    ),
}


def mapping_markdown() -> str:
    """The variable mapping of every dataset as a Markdown table (docs/submission.md shows it;
    a test keeps the two in step)."""
    lines = [
        "| dataset | variable | label | type | analysis column | origin | method |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in DATASETS:
        for name in spec.variables:
            var = VARIABLES[name]
            source = spec.renames.get(name, COPIES.get(name, name))
            kind = f"{var.kind} ({DATE_FORMAT})" if var.kind == "date" else var.kind
            method = var.method or ""
            lines.append(
                f"| {spec.name} | {name} | {var.label} | {kind} | {source} | {var.origin} | "
                f"{method} |"
            )
    return "\n".join(lines)
