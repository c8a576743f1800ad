"""Signed bundles: a namespace's procedures as a file that can be reviewed, shipped and trusted.

A bundle is a zip file holding one JSON entry per procedure version
(`procedures/<id>/v<n>.json`: code, tests, intent, aliases, wordings, parent link, provenance),
`negatives.json` (task texts each procedure was verified not to answer), `manifest.json` (the
format, the namespace, the signer, and the sha256 of every entry) and `manifest.sig`, an
Ed25519 signature over the manifest's bytes (storage/signing.py). Reading one checks the
signature against a public key the reader trusts, that the entries are exactly the manifest's,
and each entry's hash: a flipped byte, an added or removed entry, or a wrong or missing
signature refuses the whole bundle. The previews of the requests that prompted a procedure
are left out of its provenance: a bundle carries no user data beyond the procedures' tests.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import SeglamError
from ..types import Procedure
from .signing import load_public_key, sign, verifies

FORMAT = "seglam-bundle/1"
MANIFEST, SIGNATURE, NEGATIVES = "manifest.json", "manifest.sig", "negatives.json"


class BundleRefused(SeglamError):
    """A bundle failed a check; nothing of it was imported."""

    def __init__(self, path: str | Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path} was refused, nothing of it imported: " + "; ".join(problems[:10]))


@dataclass
class Bundle:
    namespace: str
    signer: str
    procedures: dict[str, list[Procedure]]  # id -> its versions, oldest first
    negatives: list[tuple[str, str]] = field(default_factory=list)  # (procedure id, task text)


def write_bundle(path: Path, bundle: Bundle, key_name: str, home: str | Path | None = None) -> None:
    """Write the bundle signed with the key `key_name`, atomically (a new file renamed into place)."""
    entries: dict[str, bytes] = {}
    for procedure_id, versions in sorted(bundle.procedures.items()):
        for version in versions:
            shared = replace(version, provenance=replace(version.provenance, source_inputs_preview={}))
            entries[f"procedures/{procedure_id}/v{version.version}.json"] = shared.to_json().encode()
    entries[NEGATIVES] = json.dumps(sorted(bundle.negatives), ensure_ascii=False).encode()
    manifest = json.dumps({"format": FORMAT, "namespace": bundle.namespace, "signer": key_name,
                           "entries": {name: hashlib.sha256(data).hexdigest() for name, data in entries.items()}},
                          sort_keys=True, indent=1).encode()
    signature = sign(key_name, manifest, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, staging = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, manifest)
            archive.writestr(SIGNATURE, signature)
            for name, data in entries.items():
                archive.writestr(name, data)
        os.replace(staging, path)
    finally:
        if os.path.exists(staging):
            os.unlink(staging)


def read_bundle(path: Path, trusted_key: Path) -> Bundle:
    """The bundle, once its signature, entries and hashes check out; else BundleRefused."""
    key = load_public_key(trusted_key)
    try:
        with zipfile.ZipFile(path) as archive:
            contents = {name: archive.read(name) for name in archive.namelist()}
    except FileNotFoundError:
        raise BundleRefused(path, ["no such file"]) from None
    except (zipfile.BadZipFile, OSError) as error:
        raise BundleRefused(path, [f"not a seglam bundle ({error})"]) from None
    if MANIFEST not in contents or SIGNATURE not in contents:
        raise BundleRefused(path, ["no signed manifest (manifest.json and manifest.sig)"])
    manifest_bytes = contents.pop(MANIFEST)
    if not verifies(key, contents.pop(SIGNATURE), manifest_bytes):
        raise BundleRefused(path, [f"its signature does not verify with {trusted_key}: the bundle was changed "
                                   "after signing, or signed with another key"])
    manifest = json.loads(manifest_bytes)
    if manifest.get("format") != FORMAT:
        raise BundleRefused(path, [f"format {manifest.get('format')!r}, this seglam reads {FORMAT!r}"])
    entries: dict[str, str] = manifest["entries"]
    problems = [f"entry {name} is not in the signed manifest" for name in sorted(set(contents) - set(entries))]
    problems += [f"entry {name} of the manifest is missing" for name in sorted(set(entries) - set(contents))]
    problems += [f"entry {name} does not match its hash in the manifest" for name in sorted(set(entries) & set(contents))
                 if hashlib.sha256(contents[name]).hexdigest() != entries[name]]
    if problems:
        raise BundleRefused(path, problems)
    procedures: dict[str, list[Procedure]] = {}
    for name in sorted(entries):
        if name.startswith("procedures/"):
            procedure = Procedure.from_json(contents[name].decode())
            procedures.setdefault(procedure.id, []).append(procedure)
    for versions in procedures.values():
        versions.sort(key=lambda p: p.version)
        if [p.version for p in versions] != list(range(1, len(versions) + 1)):
            problems.append(f"{versions[0].id} has versions {[p.version for p in versions]}, not 1..n")
    if problems:
        raise BundleRefused(path, problems)
    negatives = [tuple(pair) for pair in json.loads(contents[NEGATIVES])]
    return Bundle(manifest["namespace"], manifest["signer"], procedures, negatives)
