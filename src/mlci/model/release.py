"""A release package: what a model version is made of, and how it is read back and checked.

A package is a directory (and the same files as a `.tar.gz`) holding:
- `model.skops`: the fitted pipeline, in skops format (loaded with `load_model`, which refuses untrusted types);
- `input_schema.json`: the input contract as JSON Schema (`model.input_schema`);
- `metadata.json`: name, version, commit, data and model hashes, params, metrics, libraries, training rows
  (`model.release_metadata.ReleaseMetadata`);
- `MODEL_CARD.md`: the model card;
- `SHA256SUMS`: the SHA-256 of every other file, in `sha256sum` format (`sha256sum -c SHA256SUMS` checks it too).

`deploy` writes packages; the prediction service and the champion-vs-challenger gate read them with `load_release`,
which verifies every checksum first and refuses a package with a missing, extra or altered file. `workspace_release`
gives the same view of the model `dvc repro` just trained, before it is packaged.

An archive is downloaded, so it is vetted before its checksums can be: `unpack` accepts one top folder holding the
five package files, each a regular file within its size limit, and stops reading as soon as the archive expands past
what such a package can hold (a few kilobytes of gzip can expand to gigabytes). It writes each file itself, from the
member's data, under a name it builds from the expected layout: nothing of tarfile's extraction runs (`extract`,
`extractall` and their filters), so the filter bypasses fixed in Python 3.11.13 (CVE-2025-4517, CVE-2025-4330,
CVE-2025-4138, CVE-2025-4435, CVE-2024-12718) cannot reach it on an older interpreter.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from mlci.core import paths
from mlci.core.errors import ReleaseError
from mlci.core.io import read_json
from mlci.model.release_metadata import METADATA_FILE, ReleaseMetadata, parse_metadata

MODEL_FILE = "model.skops"
INPUT_SCHEMA_FILE = "input_schema.json"
CARD_FILE = "MODEL_CARD.md"
CHECKSUMS_FILE = "SHA256SUMS"
CONTENT_FILES = (MODEL_FILE, INPUT_SCHEMA_FILE, METADATA_FILE, CARD_FILE)
WORKSPACE_VERSION = "workspace"
_CHECKSUM_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)$")

# What an archive may hold. Constants, not params: they describe the package format `deploy` writes, and they must
# hold before anything of the archive, params included, can be trusted. The model's limit leaves room for large forests
# (the default random forest, 200 trees of depth 12, is at most about 130 MB); the other files are a few kilobytes.
_MIB = 1 << 20
SIZE_LIMITS = {
    MODEL_FILE: 512 * _MIB,
    INPUT_SCHEMA_FILE: 1 * _MIB,
    METADATA_FILE: 1 * _MIB,
    CARD_FILE: 1 * _MIB,
    CHECKSUMS_FILE: 1 * _MIB,
}
MAX_MEMBERS = len(SIZE_LIMITS) + 1  # the five files and their folder
# What may be read beyond the accepted files' data: tar headers (extended ones are read whole into memory before their
# member is seen), padding and read-ahead. A package's headers take a few kilobytes.
HEADER_ROOM = 1 * _MIB
MAX_ARCHIVE_BYTES = sum(SIZE_LIMITS.values()) + HEADER_ROOM  # every byte the gzip stream may expand to
_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")  # `<name>-v<version>`, as `deploy.package` names it
_COPY_BLOCK = 1 << 20


@dataclass(frozen=True)
class Release:
    """A model ready to predict, with the contract and the facts it was released with."""

    model: Any
    metadata: ReleaseMetadata
    input_schema: dict[str, Any]
    source: str  # the package path, or the workspace

    @property
    def version(self) -> str:
        return self.metadata.version

    @property
    def threshold(self) -> float:
        return self.metadata.threshold

    @property
    def class_labels(self) -> dict[str, str]:
        return dict(self.metadata.class_labels)

    @property
    def features(self) -> list[str]:
        """The features the model reads (a raw contract's time field stands for the parts derived from it)."""
        from mlci.model.input_schema import model_features

        return model_features(self.input_schema)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(directory: Path) -> str:
    """The `SHA256SUMS` text for every file in `directory` except itself, sorted by name."""
    names = sorted(p.name for p in directory.iterdir() if p.is_file() and p.name != CHECKSUMS_FILE)
    return "".join(f"{sha256(directory / name)}  {name}\n" for name in names)


def verify(directory: Path | str) -> None:
    """Raise `ReleaseError` unless every file in `directory` is listed in its `SHA256SUMS` with the right hash."""
    directory = Path(directory)
    listing = directory / CHECKSUMS_FILE
    if not listing.is_file():
        raise ReleaseError(f"{directory}: no {CHECKSUMS_FILE}; this is not a complete release package")
    expected: dict[str, str] = {}
    for number, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), start=1):
        match = _CHECKSUM_LINE.match(line)
        if not match:
            raise ReleaseError(f"{listing}: line {number} is not '<sha256>  <file>'; the package was altered")
        expected[match.group(2)] = match.group(1)
    present = {p.name for p in directory.iterdir() if p.is_file() and p.name != CHECKSUMS_FILE}
    problems = [f"{name} is missing" for name in sorted(set(CONTENT_FILES) - present)]
    problems += [f"{name} is not listed" for name in sorted(present - set(expected))]
    problems += [f"{name} is listed but absent" for name in sorted(set(expected) - present - set(CONTENT_FILES))]
    problems += [
        f"{name} does not match its checksum"
        for name in sorted(present & set(expected))
        if sha256(directory / name) != expected[name]
    ]
    if problems:
        raise ReleaseError(
            f"{directory}: refusing a tampered or incomplete release package ({'; '.join(problems)}); "
            "download the release again"
        )


def load_release(path: Path | str) -> Release:
    """Verify and load a package: a directory, or a `.tar.gz` of one (unpacked to a temporary folder, then removed)."""
    from mlci.model.pipeline import load_model

    path = Path(path)
    if path.is_dir():
        return _load_dir(path, load_model, str(path))
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
        with tempfile.TemporaryDirectory(prefix="release-") as tmp:
            return _load_dir(unpack(path, tmp), load_model, str(path))
    raise ReleaseError(f"release package {str(path)!r} not found; give a package directory or its .tar.gz")


def _load_dir(directory: Path, load_model: Any, source: str) -> Release:
    verify(directory)
    metadata, contract = _read_contents(directory)
    return Release(model=load_model(directory / MODEL_FILE), metadata=metadata, input_schema=contract, source=source)


def _read_contents(directory: Path) -> tuple[ReleaseMetadata, dict[str, Any]]:
    """The metadata as its record and the contract, checked for what every reader relies on.

    The metadata needs a version, a threshold in (0, 1), both class labels and every other key of its type
    (`ReleaseMetadata`); the contract, input fields. `ReleaseError` lists each problem.
    """
    problems = []
    metadata = contract = None
    try:
        metadata = parse_metadata(_read_json(directory / METADATA_FILE))
    except ReleaseError as exc:
        problems.append(str(exc))
    try:
        contract = _read_json(directory / INPUT_SCHEMA_FILE)
    except ReleaseError as exc:
        problems.append(str(exc))
    fields = contract.get("properties") if isinstance(contract, dict) else None
    if contract is not None and (not isinstance(fields, dict) or not fields):
        problems.append(f"{INPUT_SCHEMA_FILE} lists no input fields under properties")
    if problems or metadata is None or contract is None:
        raise ReleaseError(
            f"{directory}: not a usable release package ({'; '.join(problems)}); rebuild it with `make package`"
        )
    return metadata, contract


def _read_json(path: Path) -> Any:
    try:
        return read_json(path)
    except ValueError as exc:  # not JSON, or not UTF-8
        raise ReleaseError(f"{path.name} is not valid JSON ({exc})") from None


class _Budget:
    """The decompressed stream tarfile reads from, refusing to give more than `limit` bytes in all.

    Counting here, below tarfile, covers every byte it reads, extended headers it holds in memory included, whatever
    the headers claim. The limit is `HEADER_ROOM` plus the sizes of the files accepted so far (`grant`), and never
    more than `MAX_ARCHIVE_BYTES`.
    """

    def __init__(self, stream: gzip.GzipFile, archive: Path) -> None:
        self.stream, self.archive, self.used, self.granted = stream, archive, 0, 0
        self.member = ""  # the member being read, for the message

    @property
    def limit(self) -> int:
        return min(MAX_ARCHIVE_BYTES, HEADER_ROOM + self.granted)

    def grant(self, size: int) -> None:
        """Allow the data of an accepted member: `size` bytes and the padding to the next 512-byte block."""
        self.granted += -(-size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE

    def read(self, size: int = -1) -> bytes:
        left = self.limit - self.used
        data = self.stream.read(left + 1 if size < 0 or size > left else size)
        self.used += len(data)
        if self.used > self.limit:
            where = f"at member {self.member!r}" if self.member else "before its first member"
            raise ReleaseError(
                f"{self.archive}: expands past {self.limit} bytes {where}, more than its headers and accepted files "
                "hold; refusing the archive: download the release again"
            )
        return data


def unpack(archive: Path | str, into: Path | str) -> Path:
    """Unpack a release archive into the folder `into` and return the package folder inside it.

    Refuses (`ReleaseError`, naming the member and the rule) an archive that is anything but one top folder holding
    the package files as regular files within their `SIZE_LIMITS`, at most `MAX_MEMBERS` members, and no more
    decompressed bytes than those files and `HEADER_ROOM`. On refusal nothing it wrote is left in `into`.
    """
    archive, into = Path(archive), Path(into)
    written: list[Path] = []
    try:
        with gzip.open(archive, "rb") as stream:
            budget = _Budget(stream, archive)
            with tarfile.open(fileobj=cast(Any, budget), mode="r|") as tar:  # a stream only reads
                top = _unpack_members(archive, tar, budget, into, written)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        _remove(written)
        raise ReleaseError(f"{archive}: not a readable release archive ({exc}); download it again") from exc
    except ReleaseError:
        _remove(written)
        raise
    if top is None:
        raise ReleaseError(f"{archive}: holds no package folder; download it again")
    return into / top


def _unpack_members(
    archive: Path, tar: tarfile.TarFile, budget: _Budget, into: Path, written: list[Path]
) -> str | None:
    """Vet each member as the stream reaches it and write the accepted files; the top folder's name."""
    top: str | None = None
    seen: set[str] = set()
    for count, member in enumerate(tar, start=1):
        budget.member = member.name
        folder, name = _place(archive, member)
        if name is None and member.type != tarfile.DIRTYPE:
            raise _refused(archive, member.name, f"is a {_kind(member)} where the package folder belongs")
        if name is not None and member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
            raise _refused(archive, member.name, f"is a {_kind(member)}, not a regular file")
        if top is not None and folder != top:
            raise _refused(archive, member.name, f"lies outside the package folder {top!r}; one folder is expected")
        if name in seen:
            raise _refused(archive, member.name, "appears twice")
        if count > MAX_MEMBERS:
            raise _refused(archive, member.name, f"is past the {MAX_MEMBERS} members a release package has")
        if top is None:
            top = folder
            into.joinpath(top).mkdir()
            written.append(into / top)
        if name is not None:
            seen.add(name)
            _write_member(archive, tar, budget, member, into / top / name, written)
    return top


def _place(archive: Path, member: tarfile.TarInfo) -> tuple[str, str | None]:
    """The top folder and the package file (None for the folder itself) a member names, or `ReleaseError`."""
    parts = member.name.removesuffix("/").split("/")
    if member.name.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\\" in member.name:
        raise _refused(archive, member.name, "has a path outside the package folder")
    if not _FOLDER_NAME.fullmatch(parts[0]) or len(parts) > 2:
        raise _refused(archive, member.name, "is not part of the package layout <folder>/<file>")
    if len(parts) == 2 and parts[1] not in SIZE_LIMITS:
        raise _refused(archive, member.name, f"is not a package file (expected: {', '.join(sorted(SIZE_LIMITS))})")
    return parts[0], parts[1] if len(parts) == 2 else None


def _write_member(
    archive: Path, tar: tarfile.TarFile, budget: _Budget, member: tarfile.TarInfo, target: Path, written: list[Path]
) -> None:
    """Copy a regular file member's data to `target`, counting bytes so that no more than its limit are written."""
    limit = SIZE_LIMITS[target.name]
    if member.size > limit:
        raise _refused(archive, member.name, f"is {member.size} bytes; a package's {target.name} holds at most {limit}")
    budget.grant(member.size)
    source = tar.extractfile(member)
    assert source is not None  # a regular file always has data
    with target.open("xb") as out:
        written.append(target)
        copied = 0
        while block := source.read(_COPY_BLOCK):
            copied += len(block)
            if copied > limit:
                raise _refused(archive, member.name, f"holds more than {limit} bytes, the limit of {target.name}")
            out.write(block)


_KINDS = {
    tarfile.SYMTYPE: "symbolic link",
    tarfile.LNKTYPE: "hard link",
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "named pipe",
    tarfile.DIRTYPE: "folder",
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "contiguous file",
    tarfile.GNUTYPE_SPARSE: "sparse file",
}


def _kind(member: tarfile.TarInfo) -> str:
    return _KINDS.get(member.type, f"member of type {member.type!r}")


def _refused(archive: Path, member: str, reason: str) -> ReleaseError:
    return ReleaseError(f"{archive}: member {member!r} {reason}; refusing the archive: download the release again")


def _remove(written: list[Path]) -> None:
    """Remove what an unpack wrote, newest first (files before their folder)."""
    for path in reversed(written):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def find_package(version: str, dist: Path | str = paths.DIST) -> Path:
    """The package directory for `version` (e.g. `1.2.0` or `v1.2.0`) under `dist/`."""
    wanted = version if version.startswith("v") else f"v{version}"
    found = sorted(p for p in Path(dist).glob(f"*-{wanted}") if p.is_dir())
    if len(found) != 1:
        have = sorted(p.name for p in Path(dist).glob("*-v*") if p.is_dir())
        raise ReleaseError(
            f"no package for version {wanted} under {dist}/ (found: {', '.join(have) or 'none'}); "
            "run `make package` or download the release"
        )
    return found[0]


def workspace_release(threshold: float | None = None) -> Release:
    """The model `dvc repro` trained in this workspace, seen as an unversioned release (nothing to verify)."""
    from mlci.core.frames import read_split
    from mlci.core.params import load_params
    from mlci.core.schema import Schema
    from mlci.model.input_schema import input_json_schema
    from mlci.model.pipeline import load_model

    schema = Schema.load()
    X, _, _ = read_split(paths.TRAIN_SPLIT, schema)
    metadata = {
        "version": WORKSPACE_VERSION,
        "threshold": load_params().evaluate.threshold if threshold is None else threshold,
        "class_labels": schema.class_labels,
        "model": read_json(paths.MODEL_METADATA),
        "metrics": read_json(paths.METRICS) if paths.METRICS.is_file() else {},
    }
    return Release(
        model=load_model(paths.MODEL),
        metadata=parse_metadata(metadata, where="the workspace model's metadata"),
        input_schema=input_json_schema(schema, X),
        source="workspace",
    )
