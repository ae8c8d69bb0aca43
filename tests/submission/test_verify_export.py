"""``trialkit verify`` accepts an export folder: the analysis unchanged, the package as
written, every transport file equal to the datasets rebuilt from the analysis."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from trialkit.cli import main
from trialkit.compare import Tolerance
from trialkit.manifest import read_manifest
from trialkit.submission.export import export_differences

from .conftest import Exported


def test_export_folder_verifies(dhurat: Exported, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(dhurat.export)]) == 0
    assert "reproduced" in capsys.readouterr().out


def test_edited_package_and_analysis_are_named(
    dhurat: Exported, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export, analysis = tmp_path / "export", tmp_path / "analysis"
    shutil.copytree(dhurat.export, export)
    shutil.copytree(dhurat.analysis, analysis)
    assert main(["verify", str(export), "--trial", str(analysis)]) == 0
    xpt = export / "adsl.xpt"
    data = bytearray(xpt.read_bytes())
    data[-100] ^= 0x01
    xpt.write_bytes(bytes(data))
    assert main(["verify", str(export), "--trial", str(analysis)]) == 1
    out = capsys.readouterr().out
    assert "adsl.xpt: output changed since the run" in out
    (analysis / "results.json").write_text("{}\n")
    assert main(["verify", str(export), "--trial", str(analysis)]) == 1
    assert "results.json: input changed since the run" in capsys.readouterr().out


def test_rebuilt_datasets_are_compared_value_by_value(dhurat: Exported, tmp_path: Path) -> None:
    import pyreadstat

    export = tmp_path / "export"
    shutil.copytree(dhurat.export, export)
    frame, meta = pyreadstat.read_xport(str(export / "adeff.xpt"), disable_datetime_conversion=True)
    frame.loc[3, "AVAL"] += 1.0
    pyreadstat.write_xport(frame, str(export / "adeff.xpt"), file_label=meta.file_label,
                           column_labels=meta.column_names_to_labels, table_name="ADEFF",
                           file_format_version=5,
                           variable_format={k: v for k, v in meta.original_variable_types.items()
                                            if v})  # fmt: skip
    manifest = read_manifest(export)
    found = export_differences(export, manifest, dhurat.analysis, Tolerance())
    assert len(found) == 1 and found[0].startswith("adeff.xpt: AVAL row 4:"), found
