"""define.xml validates against the Define-XML 2.0 schema, describes exactly the datasets and
variables of the transport files, and renders with its stylesheet in a browser."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pyreadstat
import pytest
from lxml import etree

from tests.shared_data import shared_file

from .conftest import Exported

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.0"}
XLINK = "{http://www.w3.org/1999/xlink}href"
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _schema() -> etree.XMLSchema:
    xsd = shared_file("conformance", "define-xml-2.0", "cdisc-define-2.0", "define2-0-0.xsd")
    return etree.XMLSchema(etree.parse(str(xsd)))


def test_define_validates_against_the_schema(dhurat: Exported) -> None:
    schema = _schema()
    document = etree.parse(str(dhurat.export / "define.xml"))
    assert schema.validate(document), schema.error_log.last_error
    broken = etree.fromstring((dhurat.export / "define.xml").read_bytes().replace(
        b'Repeating="No"', b'Repeating="Maybe"'
    ))  # fmt: skip
    assert not schema.validate(broken)  # the schema does check what we write


def _describes_exactly_the_transport_files(case: Exported) -> etree._Element:
    """define.xml of ``case`` lists exactly the datasets and variables of its transport files,
    with their labels and types, and no ItemDef nothing refers to; its root."""
    root = etree.parse(str(case.export / "define.xml")).getroot()
    items = {i.get("OID"): i for i in root.iterfind(".//odm:ItemDef", NS)}
    described = {}
    for group in root.iterfind(".//odm:ItemGroupDef", NS):
        refs = group.findall("odm:ItemRef", NS)
        described[group.get("Name")] = [items[r.get("ItemOID")].get("Name") for r in refs]
        leaf = group.find("def:leaf", NS)
        assert leaf is not None and leaf.get(XLINK) == f"{group.get('Name').lower()}.xpt"
    files = {}
    for path in sorted(case.export.glob("*.xpt")):
        _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
        files[meta.table_name] = list(meta.column_names)
        for name in meta.column_names:
            item = items[f"IT.{meta.table_name}.{name}"]
            label = item.find("odm:Description/odm:TranslatedText", NS)
            assert label is not None and label.text == meta.column_names_to_labels[name]
            is_text = meta.readstat_variable_types[name] == "string"
            assert (item.get("DataType") == "text") == is_text, name
    assert described == files
    refs = {r.get("ItemOID") for r in root.iterfind(".//odm:ItemRef", NS)}
    assert set(items) == refs  # no ItemDef that nothing uses
    return root


def test_define_describes_exactly_the_transport_files(dhurat: Exported) -> None:
    root = _describes_exactly_the_transport_files(dhurat)
    groups = {g.get("Name") for g in root.iterfind(".//odm:ItemGroupDef", NS)}
    assert groups == {"ADSL", "ADEFF", "ADAE", "ADEX", "ARD"}
    value_level = root.find(".//def:ValueListDef[@OID='VL.ADEFF.AVAL']", NS)
    assert value_level is not None and len(value_level) == 1  # HAIRCNT only
    methods = {m.get("OID") for m in root.iterfind(".//odm:MethodDef", NS)}
    assert {"MT.ABLFL", "MT.CHG", "MT.ANL01FL", "MT.TRTEMFL"} <= methods
    codes = [c.get("CodedValue") for c in root.iterfind(".//odm:CodeList[@OID='CL.ARMCD']/*", NS)]
    assert codes == ["MINOX", "MINOX_MN"]


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None and not IN_CI, reason="chromium is not installed (apt-get install chromium)"
)
def test_define_renders_with_its_stylesheet(dhurat: Exported, tmp_path: Path) -> None:
    assert CHROMIUM is not None, "chromium is required in CI (.ci/run installs it)"
    assert (dhurat.export / "define2-0.xsl").is_file()
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
        (dhurat.export / "define.xml").as_uri(),
    ]  # fmt: skip
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    assert "<html" in dom and "DHURAT2013" in dom
    for name in ("ADSL", "ADEFF", "ADAE", "ADEX", "ARD"):
        assert f'href="{name.lower()}.xpt"' in dom, name  # the datasets table links each file
    assert "Analysis Value" in dom and "Algorithm" in dom


def test_docs_show_the_metadata_table() -> None:
    from trialkit.submission.metadata import TREATMENT_CODES, mapping_markdown
    from trialkit.treatments import TREATMENTS

    docs = Path(__file__).resolve().parents[2] / "docs"
    assert mapping_markdown() in (docs / "submission.md").read_text(encoding="utf-8")
    assert set(TREATMENT_CODES) == set(TREATMENTS)  # every kind has a short code


@pytest.mark.slow
def test_define_of_vital_signs_and_responder_criteria(aa: Exported) -> None:
    """tk_aa_201: ADVS with its parameters' value-level metadata and the alert codelist; each
    responder criterion described for SALT with the rule and its method."""
    assert _schema().validate(etree.parse(str(aa.export / "define.xml")))
    root = _describes_exactly_the_transport_files(aa)
    groups = {g.get("Name") for g in root.iterfind(".//odm:ItemGroupDef", NS)}
    assert groups == {"ADSL", "ADEFF", "ADVS", "ADAE", "ADEX", "ARD"}
    items = {i.get("OID"): i for i in root.iterfind(".//odm:ItemDef", NS)}

    def text(oid: str) -> str:
        node = items[oid].find("odm:Description/odm:TranslatedText", NS)
        assert node is not None and node.text is not None
        return node.text

    vl = root.find(".//def:ValueListDef[@OID='VL.ADVS.AVAL']", NS)
    assert vl is not None and len(vl) == 3
    assert text("IT.ADVS.AVAL.SYSBP") == "Analysis Value: Systolic blood pressure (mmHg)"
    alerts = root.iterfind(".//odm:CodeList[@OID='CL.ALRTIND']/*", NS)
    assert [c.get("CodedValue") for c in alerts] == ["LOW", "NORMAL", "HIGH"]
    rules = {1: "AVAL <= 20", 2: "PCHG <= -50", 3: "PCHG <= -20"}
    methods = {m.get("OID"): m for m in root.iterfind(".//odm:MethodDef", NS)}
    for y, rule in rules.items():
        for name in (f"CRIT{y}", f"CRIT{y}FL"):
            vl = root.find(f".//def:ValueListDef[@OID='VL.ADEFF.{name}']", NS)
            assert vl is not None and len(vl) == 1
            assert text(f"IT.ADEFF.{name}.SALT").endswith(
                f": {rule} (Severity of Alopecia Tool score)"
            )
            ref = vl.find("odm:ItemRef", NS)
            assert ref is not None and ref.get("MethodOID") == f"MT.CRIT{y}"
        words = methods[f"MT.CRIT{y}"].find("odm:Description/odm:TranslatedText", NS)
        assert words is not None and rule in str(words.text)
    assert "MT.ALRT" in methods
