"""Build a release package: `dist/<name>-v<version>/` and `dist/<name>-v<version>.tar.gz` (see `model.release`).

The archive is reproducible: entries sorted, owner and times fixed, gzip without a timestamp, so the same package is
the same bytes and its checksum means something.
"""

from __future__ import annotations

import gzip
import io
import platform
import shutil
import tarfile
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from mlci.core import paths
from mlci.core.errors import ReleaseError
from mlci.core.io import read_json, write_bytes, write_json
from mlci.model import release
from mlci.model.release_metadata import METADATA_FILE, ReleaseMetadata

LIBRARIES = ("scikit-learn", "numpy", "pandas", "pyarrow", "skops", "scipy", "dvc")


def libraries() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return found


def write_package(
    meta: ReleaseMetadata,
    contract: dict[str, Any],
    card_text: str,
    model_file: Path = paths.MODEL,
    dist: Path = paths.DIST,
) -> tuple[Path, Path]:
    """Write the package folder and its archive for `meta.name` / `meta.version`; return both paths.

    Built in a temporary folder beside the target and moved into place, so a failure leaves no half package.
    """
    if not meta.name:
        raise ReleaseError("the release metadata has no name to name its package by; set deploy.model_name")
    stem = f"{meta.name.replace('/', '-')}-v{meta.version}"
    folder, archive = dist / stem, dist / f"{stem}.tar.gz"
    building = dist / f".{stem}.building"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        shutil.copyfile(model_file, building / release.MODEL_FILE)
        write_json(building / release.INPUT_SCHEMA_FILE, contract)
        write_json(building / METADATA_FILE, meta.to_json())
        (building / release.CARD_FILE).write_text(card_text, encoding="utf-8")
        (building / release.CHECKSUMS_FILE).write_text(release.checksums(building), encoding="utf-8")
        release.verify(building)
        write_bytes(archive, _tar_gz(building, stem))
        shutil.rmtree(folder, ignore_errors=True)
        building.rename(folder)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return folder, archive


def _tar_gz(folder: Path, stem: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        root = tarfile.TarInfo(stem)
        root.type, root.mode, root.mtime = tarfile.DIRTYPE, 0o755, 0
        tar.addfile(root)
        for path in sorted(folder.iterdir()):
            info = tarfile.TarInfo(f"{stem}/{path.name}")
            data = path.read_bytes()
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def workspace_facts() -> dict[str, Any]:
    """What the workspace says about the trained model: its metadata, metrics, segments and data profile."""
    return {
        "model": read_json(paths.MODEL_METADATA),
        "metrics": read_json(paths.METRICS),
        "segments": read_json(paths.SEGMENTS) if paths.SEGMENTS.is_file() else {},
        "data_profile": read_json(paths.PROFILE) if paths.PROFILE.is_file() else {},
    }
