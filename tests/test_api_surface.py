"""The public API surface against its snapshot (``tests/api_surface.json``): a public name may
not disappear unannounced. Regenerate after an announced removal, or to take in additions:
``python -m ganedit.testing.api_snapshot --write``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import ganedit
import ganedit.io
from ganedit.testing.api_snapshot import SNAPSHOT, api_surface, compare, main, read_snapshot

REGENERATE = "python -m ganedit.testing.api_snapshot --write"


def test_no_public_name_was_removed() -> None:
    removed, added = compare(read_snapshot(), api_surface())
    assert removed == [], (
        f"public names removed: {removed}. Announce the removal (commit message, README) and "
        f"regenerate the snapshot: {REGENERATE}"
    )
    if added:
        warnings.warn(
            f"new public names not in the snapshot yet ({REGENERATE}): {added}", stacklevel=1
        )


def test_a_removed_name_or_module_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ganedit.io, "__all__", [n for n in ganedit.io.__all__ if n != "read_image"])
    removed, _ = compare(read_snapshot(), api_surface())
    assert removed == ["ganedit.io.read_image"]
    old = {"ganedit": ["load"], "ganedit.gone": ["x"]}
    assert compare(old, {"ganedit": ["load", "new"]}) == (
        ["ganedit.gone", "ganedit.gone.x"],
        ["ganedit.new"],
    )


def test_the_command_writes_then_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = tmp_path / "api.json"
    assert main(["--snapshot", str(snap), "--write"]) == 0
    doc = json.loads(snap.read_text(encoding="utf-8"))
    assert doc["modules"] == api_surface()
    assert main(["--snapshot", str(snap)]) == 0
    doc["modules"]["ganedit.io"].append("gone_reader")
    doc["modules"]["ganedit.io"].remove("read_image")
    snap.write_text(json.dumps(doc), encoding="utf-8")
    capsys.readouterr()
    assert main(["--snapshot", str(snap)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "removed: ganedit.io.gone_reader",
        "added: ganedit.io.read_image",
    ]
    assert SNAPSHOT.is_file()
