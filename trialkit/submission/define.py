"""``define.xml`` (Define-XML 2.0) of the exported datasets, from the metadata table.

Datasets (ItemGroupDef with a ``def:leaf`` link to the transport file), variables (ItemDef:
type, length, display format, origin, method, codelist), value-level metadata of AVAL, BASE
and CHG per PARAMCD in the BDS datasets and of each responder criterion (CRITy, CRITyFL) for
its parameter, codelists (arms, visits, parameters, flags, severities, alert indicators),
derivation methods (the responder criteria's from the plan) and dataset comments. A processing
instruction points to the CDISC stylesheet written next to it, so the file opens readably in a
browser.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from lxml import etree

from trialkit.definition import TrialDefinition
from trialkit.submission.adam import AdamDataset
from trialkit.submission.criteria import plan_criteria
from trialkit.submission.metadata import DATASET_COMMENTS, METHODS, Variable, variable

ODM = "http://www.cdisc.org/ns/odm/v1.3"
DEF = "http://www.cdisc.org/ns/def/v2.0"
XLINK = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
STYLESHEET = "define2-0.xsl"
#: The stylesheet shipped beside this module (CDISC's, by Lex Jansen, MIT licence).
STYLESHEET_PATH = Path(__file__).with_name(STYLESHEET)
#: Variables that get value-level metadata per PARAMCD in a BDS dataset.
VALUE_LEVEL = ("AVAL", "BASE", "CHG")
DATA_TYPES = {"text": "text", "float": "float", "integer": "integer", "date": "integer"}


def _odm(tag: str) -> str:
    return f"{{{ODM}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEF}}}{tag}"


def _described(parent: etree._Element, tag: str, text: str, **attrs: str) -> etree._Element:
    """A child element with a Description (or Decode) holding English text."""
    node = etree.SubElement(parent, tag, attrs)
    inner = "Decode" if tag == _odm("CodeListItem") else "Description"
    _text(node, inner, text)
    return node


def _text(parent: etree._Element, tag: str, text: str) -> None:
    holder = etree.SubElement(parent, _odm(tag))
    translated = etree.SubElement(holder, _odm("TranslatedText"))
    translated.set(XML_LANG, "en")
    translated.text = text


def _length(values: pd.Series, var: Variable) -> str:
    """Define's Length: longest text in bytes, most digits of an integer, 8 otherwise."""
    present = values.dropna()
    if var.kind == "text":
        return str(max([1, *(len(str(v).encode()) for v in present)]))
    if var.kind == "integer" and len(present):
        return str(max(1, *(len(str(int(v))) for v in present)))
    return "8"


def _codelists(definition: TrialDefinition) -> dict[str, tuple[str, list[tuple[str, str | None]]]]:
    """Codelists by OID: name and (coded value, decode) items."""
    visits = [(v.code, v.label) for v in definition.visits]
    return {
        "CL.ARMCD": ("Planned Arm Code", [(a.code, a.label) for a in definition.arms]),
        "CL.ARM": ("Arm", [(a.label, None) for a in definition.arms]),
        "CL.AVISIT": ("Analysis Visit", visits),
        "CL.PARAMCD": ("Parameter Code", [(p.code, p.label) for p in definition.parameters]),
        "CL.PARAM": ("Parameter", [(p.label, None) for p in definition.parameters]),
        "CL.YN": ("No Yes Response", [("N", "No"), ("Y", "Yes")]),
        "CL.Y": ("Yes Response", [("Y", "Yes")]),
        "CL.AESEV": ("Severity", [("MILD", None), ("MODERATE", None), ("SEVERE", None)]),
        "CL.ALRTIND": ("Alert Limit Indicator", [("LOW", None), ("NORMAL", None), ("HIGH", None)]),
    }


def _value_level(
    ds: AdamDataset, definition: TrialDefinition
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Value-level entries of a BDS dataset: (variable, [(PARAMCD, description)]) for AVAL,
    BASE and CHG per parameter present, and for each criterion's CRITy/CRITyFL."""
    params = {p.code: p for p in definition.parameters}
    present = [c for c in params if c in set(ds.frame["PARAMCD"].dropna())]
    out = []
    for name in (v for v in VALUE_LEVEL if v in ds.frame.columns):
        label = _label(name)
        entries = []
        for code in present:
            unit = f" ({params[code].unit})" if params[code].unit else ""
            entries.append((code, f"{label}: {params[code].label}{unit}"))
        out.append((name, entries))
    for c in plan_criteria(definition):
        for name in (n for n in c.names if n in ds.frame.columns and c.parameter in present):
            text = f"{_label(name)}: {c.rule.text} ({params[c.parameter].label})"
            out.append((name, [(c.parameter, text)]))
    return out


def _label(name: str) -> str:
    var = variable(name)
    assert var is not None, name
    return var.label


def _item_def(
    mdv: etree._Element,
    oid: str,
    var: Variable,
    values: pd.Series,
    description: str,
    origin: str | None,
    value_list: str | None = None,
) -> None:
    attrs = {
        "OID": oid,
        "Name": var.name,
        "DataType": DATA_TYPES[var.kind],
        "Length": _length(values, var),
        "SASFieldName": var.name,
    }
    if var.display_format:
        attrs[_def("DisplayFormat")] = var.display_format
    item = _described(mdv, _odm("ItemDef"), description, **attrs)
    if var.codelist:
        etree.SubElement(item, _odm("CodeListRef"), CodeListOID=var.codelist)
    node = etree.SubElement(item, _def("Origin"), Type=var.origin)
    if origin:
        _text(node, "Description", origin)
    if value_list:
        etree.SubElement(item, _def("ValueListRef"), ValueListOID=value_list)


def define_xml(
    datasets: Iterable[AdamDataset],
    definition: TrialDefinition,
    sources: dict[str, str],
    extension: str = "xpt",
) -> bytes:
    """The define.xml document; ``sources`` names each dataset's analysis file, ``extension``
    the data files its ``def:leaf`` links point to (xpt, or csv when only CSV is written)."""
    datasets = list(datasets)
    trial = definition.trial
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    root = etree.Element(
        _odm("ODM"),
        {
            "ODMVersion": "1.3.2",
            "FileType": "Snapshot",
            "FileOID": f"DEF.{trial.id}",
            "CreationDateTime": now,
            "Originator": "trialkit",
            "SourceSystem": "trialkit",
        },
        nsmap={None: ODM, "def": DEF, "xlink": XLINK},
    )
    study = etree.SubElement(root, _odm("Study"), OID=f"STUDY.{trial.id}")
    glob = etree.SubElement(study, _odm("GlobalVariables"))
    for tag, text in (
        ("StudyName", trial.id),
        ("StudyDescription", trial.title),
        ("ProtocolName", trial.id),
    ):
        etree.SubElement(glob, _odm(tag)).text = text
    mdv = etree.SubElement(
        study,
        _odm("MetaDataVersion"),
        {
            "OID": f"MDV.{trial.id}.ADAM",
            "Name": f"{trial.id} ADaM datasets",
            "Description": f"Analysis datasets of {trial.id}, written by trialkit",
            _def("DefineVersion"): "2.0.0",
            _def("StandardName"): "ADaM-IG",
            _def("StandardVersion"): "1.1",
        },
    )
    value_lists, item_defs = [], []
    where_clauses: dict[str, etree._Element] = {}
    for ds in datasets:
        if "PARAMCD" not in ds.frame.columns:
            continue
        method_of = {v.name: v.method for v in ds.variables}
        for name, entries in _value_level(ds, definition):
            vl = etree.Element(_def("ValueListDef"), OID=f"VL.{ds.name}.{name}")
            for order, (code, text) in enumerate(entries, start=1):
                oid = f"IT.{ds.name}.{name}.{code}"
                wc = f"WC.{ds.name}.PARAMCD.{code}"
                attrs = {"ItemOID": oid, "OrderNumber": str(order), "Mandatory": "No"}
                if method_of.get(name):
                    attrs["MethodOID"] = str(method_of[name])
                ref = etree.SubElement(vl, _odm("ItemRef"), attrs)
                etree.SubElement(ref, _def("WhereClauseRef"), WhereClauseOID=wc)
                var = next(v for v in ds.variables if v.name == name)
                rows = ds.frame["PARAMCD"] == code
                item_defs.append((oid, var, ds.frame.loc[rows, name], text))
                if wc not in where_clauses:
                    clause = etree.Element(_def("WhereClauseDef"), OID=wc)
                    check = etree.SubElement(
                        clause,
                        _odm("RangeCheck"),
                        {
                            "SoftHard": "Soft",
                            _def("ItemOID"): f"IT.{ds.name}.PARAMCD",
                            "Comparator": "EQ",
                        },
                    )
                    etree.SubElement(check, _odm("CheckValue")).text = code
                    where_clauses[wc] = clause
            value_lists.append(vl)
    mdv.extend(value_lists)
    mdv.extend(where_clauses.values())
    for ds in datasets:
        group = _described(
            mdv,
            _odm("ItemGroupDef"),
            ds.spec.label,
            OID=f"IG.{ds.name}",
            Name=ds.name,
            Repeating="No" if ds.name == "ADSL" else "Yes",
            IsReferenceData="No",
            SASDatasetName=ds.name,
            Purpose="Analysis",
            **{
                _def("Structure"): ds.spec.structure,
                _def("Class"): ds.spec.klass,
                _def("CommentOID"): f"COM.{ds.name}",
                _def("ArchiveLocationID"): f"LF.{ds.name}",
            },
        )
        for order, var in enumerate(ds.variables, start=1):
            attrs = {
                "ItemOID": f"IT.{ds.name}.{var.name}",
                "OrderNumber": str(order),
                "Mandatory": "Yes" if var.name in ds.spec.keys else "No",
            }
            if var.name in ds.spec.keys:
                attrs["KeySequence"] = str(ds.spec.keys.index(var.name) + 1)
            if var.method:
                attrs["MethodOID"] = var.method
            etree.SubElement(group, _odm("ItemRef"), attrs)
        file_name = f"{ds.name.lower()}.{extension}"
        leaf = etree.SubElement(
            group, _def("leaf"), {"ID": f"LF.{ds.name}", f"{{{XLINK}}}href": file_name}
        )
        etree.SubElement(leaf, _def("title")).text = file_name
    with_vl = {vl.get("OID") for vl in value_lists}
    for ds in datasets:
        for var in ds.variables:
            source = sources.get(ds.name, "")
            origin = f"{source}" if var.origin == "Predecessor" and source else None
            vl = f"VL.{ds.name}.{var.name}"
            vl = vl if vl in with_vl else None
            _item_def(
                mdv, f"IT.{ds.name}.{var.name}", var, ds.frame[var.name], var.label, origin, vl
            )
    for oid, var, values, text in item_defs:
        _item_def(mdv, oid, var, values, text, None)
    used = {v.codelist for ds in datasets for v in ds.variables if v.codelist}
    for oid, (name, items) in _codelists(definition).items():
        if oid not in used:
            continue
        cl = etree.SubElement(mdv, _odm("CodeList"), OID=oid, Name=name, DataType="text")
        decoded = any(d for _, d in items)
        for order, (value, decode) in enumerate(items, start=1):
            if decoded:
                _described(
                    cl,
                    _odm("CodeListItem"),
                    decode or value,
                    CodedValue=value,
                    OrderNumber=str(order),
                )
            else:
                etree.SubElement(
                    cl, _odm("EnumeratedItem"), CodedValue=value, OrderNumber=str(order)
                )
    methods = {v.method for ds in datasets for v in ds.variables if v.method}
    texts = {**METHODS, **{f"MT.CRIT{c.number}": c.method for c in plan_criteria(definition)}}
    for oid in sorted(methods):
        _described(
            mdv,
            _odm("MethodDef"),
            texts[oid],
            OID=oid,
            Name=f"Algorithm {oid[3:]}",
            Type="Computation",
        )
    for ds in datasets:
        _described(mdv, _def("CommentDef"), DATASET_COMMENTS[ds.name], OID=f"COM.{ds.name}")
    tree = etree.ElementTree(root)
    pi = etree.ProcessingInstruction("xml-stylesheet", f'type="text/xsl" href="{STYLESHEET}"')
    root.addprevious(pi)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True))


__all__ = ["STYLESHEET", "STYLESHEET_PATH", "define_xml"]
