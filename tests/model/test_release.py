"""The release package contract: checksums, verification, loading a folder or an archive, finding a package."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlci.core.errors import ReleaseError
from mlci.core.params import TrainParams
from mlci.core.schema import Schema
from mlci.model import release
from mlci.model.input_schema import input_json_schema
from mlci.model.pipeline import build_pipeline, save_model
from mlci.model.release import checksums, find_package, load_release, verify
from mlci.model.release_metadata import ReleaseMetadata

SCHEMA = Schema(target="y", numeric=["amount"], categorical=["channel"], class_labels={"0": "legit", "1": "fraud"})
STEM = "fraud-model-v1.2.0"


def frame(n: int = 80, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"amount": rng.normal(50, 20, n), "channel": rng.choice(["web", "pos", "app"], n)})
    y = (X["amount"] + rng.normal(0, 10, n) > 50).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A small fitted pipeline, saved as `save_model` writes it."""
    X, y = frame()
    model = build_pipeline(TrainParams(model="logistic_regression"), SCHEMA).fit(X, y)
    path = tmp_path_factory.mktemp("model") / "model.skops"
    save_model(model, path)
    return path.read_bytes()


def make_package(folder: Path, model_bytes: bytes) -> Path:
    """The five files of a package, written the way `deploy` writes them."""
    folder.mkdir(parents=True)
    X, _ = frame()
    (folder / release.MODEL_FILE).write_bytes(model_bytes)
    (folder / release.INPUT_SCHEMA_FILE).write_text(json.dumps(input_json_schema(SCHEMA, X)), encoding="utf-8")
    metadata = {"name": "fraud-model", "version": "1.2.0", "threshold": 0.4, "class_labels": SCHEMA.class_labels}
    (folder / release.METADATA_FILE).write_text(json.dumps(metadata), encoding="utf-8")
    (folder / release.CARD_FILE).write_text("# Model card: fraud-model v1.2.0\n", encoding="utf-8")
    (folder / release.CHECKSUMS_FILE).write_text(checksums(folder), encoding="utf-8")
    return folder


@pytest.fixture
def package(tmp_path: Path, model_bytes: bytes) -> Path:
    return make_package(tmp_path / "dist" / STEM, model_bytes)


def tar_gz(path: Path, members: dict[str, bytes], folders: tuple[str, ...] = ()) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name in folders:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def archive_of(folder: Path, path: Path) -> Path:
    files = {f"{folder.name}/{p.name}": p.read_bytes() for p in sorted(folder.iterdir())}
    return tar_gz(path, files, folders=(folder.name,))


def test_checksums__one_sha256sum_line_per_file_sorted_without_itself(package: Path) -> None:
    text = (package / release.CHECKSUMS_FILE).read_text(encoding="utf-8")

    lines = text.splitlines()

    assert text.endswith("\n")
    assert [line.split("  ")[1] for line in lines] == sorted(release.CONTENT_FILES)
    for line in lines:
        digest, name = line.split("  ")
        assert digest == release.sha256(package / name)
        assert len(digest) == 64 and digest == digest.lower()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum (coreutils) is not installed")
def test_checksums__sha256sum_accepts_them(package: Path) -> None:
    done = subprocess.run(
        ["sha256sum", "--check", "--strict", release.CHECKSUMS_FILE],
        cwd=package,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == len(release.CONTENT_FILES)


def test_verify__passes_on_a_complete_package(package: Path) -> None:
    verify(package)
    verify(str(package))


def test_verify__refuses_a_changed_byte(package: Path) -> None:
    card = package / release.CARD_FILE
    card.write_bytes(card.read_bytes().replace(b"v1.2.0", b"v1.2.1"))

    with pytest.raises(ReleaseError, match=r"refusing a tampered .*MODEL_CARD\.md does not match its checksum"):
        verify(package)


def test_verify__refuses_a_missing_content_file(package: Path) -> None:
    (package / release.MODEL_FILE).unlink()

    with pytest.raises(ReleaseError, match=r"model\.skops is missing.*download the release again"):
        verify(package)


def test_verify__refuses_a_missing_file_even_when_not_listed(package: Path) -> None:
    """A content file dropped from both the folder and SHA256SUMS is still missing: the contract names all four."""
    (package / release.INPUT_SCHEMA_FILE).unlink()
    (package / release.CHECKSUMS_FILE).write_text(checksums(package), encoding="utf-8")

    with pytest.raises(ReleaseError, match=r"input_schema\.json is missing"):
        verify(package)


def test_verify__refuses_an_extra_unlisted_file(package: Path) -> None:
    (package / "run.sh").write_text("echo hi\n", encoding="utf-8")

    with pytest.raises(ReleaseError, match=r"run\.sh is not listed"):
        verify(package)


def test_verify__refuses_a_listed_extra_file_that_is_absent(package: Path) -> None:
    listing = package / release.CHECKSUMS_FILE
    listing.write_text(listing.read_text(encoding="utf-8") + f"{'0' * 64}  NOTES.md\n", encoding="utf-8")

    with pytest.raises(ReleaseError, match=r"NOTES\.md is listed but absent"):
        verify(package)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("not a checksum line", id="garbage"),
        pytest.param(f"{'a' * 64} model.skops", id="one-space"),
        pytest.param(f"{'A' * 64}  model.skops", id="upper-case-hex"),
        pytest.param(f"{'a' * 63}  model.skops", id="short-digest"),
        pytest.param("", id="blank-line"),
    ],
)
def test_verify__refuses_a_malformed_checksums_line(package: Path, line: str) -> None:
    listing = package / release.CHECKSUMS_FILE
    listing.write_text(listing.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")

    with pytest.raises(ReleaseError, match=r"SHA256SUMS: line 5 is not '<sha256>  <file>'; the package was altered"):
        verify(package)


def test_verify__refuses_a_folder_without_checksums(package: Path) -> None:
    (package / release.CHECKSUMS_FILE).unlink()

    with pytest.raises(ReleaseError, match=r"no SHA256SUMS; this is not a complete release package"):
        verify(package)


def test_load_release__from_a_folder(package: Path) -> None:
    loaded = load_release(package)

    assert loaded.version == "1.2.0"
    assert loaded.threshold == 0.4
    assert loaded.class_labels == {"0": "legit", "1": "fraud"}
    assert loaded.features == ["amount", "channel"]
    assert loaded.source == str(package)
    X, _ = frame(5, seed=1)
    assert loaded.model.predict_proba(X[loaded.features]).shape == (5, 2)


def test_load_release__from_an_archive_and_leaves_nothing_unpacked(package: Path, tmp_path: Path) -> None:
    archive = archive_of(package, tmp_path / f"{STEM}.tar.gz")
    before = sorted(tmp_path.rglob("*"))

    loaded = load_release(archive)

    assert loaded.version == "1.2.0" and loaded.source == str(archive)
    assert loaded.model.predict_proba(frame(3, seed=2)[0]).shape == (3, 2)
    assert sorted(tmp_path.rglob("*")) == before


def test_load_release__refuses_a_tampered_archive(package: Path, tmp_path: Path) -> None:
    (package / release.METADATA_FILE).write_text(json.dumps({"version": "9.9.9", "threshold": 0.0}), encoding="utf-8")
    archive = archive_of(package, tmp_path / f"{STEM}.tar.gz")

    with pytest.raises(ReleaseError, match=r"metadata\.json does not match its checksum"):
        load_release(archive)


# --- vetting an archive before its checksums ----------------------------------------------------------------------

MODEL_LIMIT = release.SIZE_LIMITS[release.MODEL_FILE]


def special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    return info


def package_then(package: Path, path: Path, *extra: tarfile.TarInfo | tuple[str, bytes]) -> Path:
    """The package's folder and files (so that some are written first), then `extra` members."""
    with tarfile.open(path, "w:gz") as tar:
        root = tarfile.TarInfo(STEM)
        root.type, root.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(root)
        for file in sorted(package.iterdir()):
            tar.add(file, arcname=f"{STEM}/{file.name}")
        for member in extra:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size, info.mode = len(member[1]), 0o644
                tar.addfile(info, io.BytesIO(member[1]))
    return path


def zeros_archive(path: Path, name: str, claimed: int, real: int, pax: dict[str, str] | None = None) -> Path:
    """One member `name` whose header claims `claimed` bytes, followed by `real` zero bytes, streamed through gzip.

    Written by hand because tarfile only writes honest headers; zeros compress about a thousandfold.
    """
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.pax_headers = claimed, 0o644, pax or {}
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(info.tobuf(tarfile.PAX_FORMAT))
        block = bytes(1 << 20)
        for _ in range(real // len(block)):
            out.write(block)
        out.write(bytes(real % len(block)))
        out.write(bytes(tarfile.BLOCKSIZE - real % tarfile.BLOCKSIZE if real % tarfile.BLOCKSIZE else 0))
        out.write(bytes(2 * tarfile.BLOCKSIZE))
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(
            (f"{STEM}/run.sh", b"echo owned\n"),
            rf"member '{STEM}/run\.sh' is not a package file \(expected: MODEL_CARD\.md, SHA256SUMS",
            id="extra-file",
        ),
        pytest.param(
            special(f"{STEM}/model.skops", tarfile.SYMTYPE, "/etc/passwd"),
            rf"member '{STEM}/model\.skops' is a symbolic link, not a regular file",
            id="symlink",
        ),
        pytest.param(
            special(f"{STEM}/model.skops", tarfile.LNKTYPE, f"{STEM}/metadata.json"),
            rf"member '{STEM}/model\.skops' is a hard link, not a regular file",
            id="hard-link",
        ),
        pytest.param(
            special(f"{STEM}/model.skops", tarfile.CHRTYPE),
            rf"member '{STEM}/model\.skops' is a character device, not a regular file",
            id="device",
        ),
        pytest.param(
            special(f"{STEM}/model.skops", tarfile.FIFOTYPE),
            rf"member '{STEM}/model\.skops' is a named pipe, not a regular file",
            id="fifo",
        ),
        pytest.param(("../evil", b"owned"), r"member '\.\./evil' has a path outside the package folder", id="dotdot"),
        pytest.param(
            (f"{STEM}/../../evil", b"owned"),
            rf"member '{STEM}/\.\./\.\./evil' has a path outside the package folder",
            id="dotdot-inside",
        ),
        pytest.param(("/tmp/evil", b"owned"), r"member '/tmp/evil' has a path outside", id="absolute"),
        pytest.param(
            (f"{STEM}/model.skops", b"second copy"), rf"member '{STEM}/model\.skops' appears twice", id="duplicate"
        ),
        pytest.param(
            ("other/model.skops", b"x"),
            rf"member 'other/model\.skops' lies outside the package folder '{STEM}'; one folder is expected",
            id="second-folder",
        ),
        pytest.param(
            ("README", b"hello"), r"member 'README' is a file where the package folder belongs", id="loose-file"
        ),
        pytest.param(
            (f"{STEM}/sub/model.skops", b"x"),
            rf"member '{STEM}/sub/model\.skops' is not part of the package layout <folder>/<file>",
            id="nested",
        ),
        pytest.param(
            special(f"{STEM}/input_schema.json", tarfile.DIRTYPE),
            rf"member '{STEM}/input_schema\.json' is a folder, not a regular file",
            id="folder-as-file",
        ),
    ],
)
def test_unpack__refuses_a_member_outside_the_layout_and_leaves_nothing(
    package: Path, tmp_path: Path, extra: object, message: str
) -> None:
    archive = package_then(package, tmp_path / "bad.tar.gz", extra)
    target = tmp_path / "target"
    target.mkdir()

    with pytest.raises(ReleaseError, match=rf"bad\.tar\.gz: {message}.*refusing the archive: download the release"):
        release.unpack(archive, target)

    assert list(target.iterdir()) == [], "files written before the refusal were left behind"
    assert not (tmp_path / "evil").exists() and not Path("/tmp/evil").exists()


def test_unpack__writes_the_package_folder_as_packed(package: Path, tmp_path: Path) -> None:
    archive = archive_of(package, tmp_path / f"{STEM}.tar.gz")

    (tmp_path / "out").mkdir()

    folder = release.unpack(archive, tmp_path / "out")

    assert folder == tmp_path / "out" / STEM
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {p.name: p.read_bytes() for p in package.iterdir()}


def test_unpack__refuses_more_members_than_a_package_has(tmp_path: Path) -> None:
    archive = tar_gz(tmp_path / "many.tar.gz", {}, folders=(STEM,) * (release.MAX_MEMBERS + 1))
    (tmp_path / "target").mkdir()

    with pytest.raises(ReleaseError, match=rf"member '{STEM}' is past the 6 members a release package has"):
        release.unpack(archive, tmp_path / "target")
    assert list((tmp_path / "target").iterdir()) == []


def test_unpack__refuses_a_header_claiming_more_than_the_limit_before_reading_it(tmp_path: Path) -> None:
    """The header says 1 byte over the model's limit; only a few bytes follow. Refused on the header alone."""
    archive = zeros_archive(tmp_path / "lies.tar.gz", f"{STEM}/model.skops", claimed=MODEL_LIMIT + 1, real=10)
    (tmp_path / "target").mkdir()

    with pytest.raises(
        ReleaseError,
        match=rf"member '{STEM}/model\.skops' is 536870913 bytes; a package's model\.skops holds at most 536870912",
    ):
        release.unpack(archive, tmp_path / "target")
    assert list((tmp_path / "target").iterdir()) == []


def test_unpack__refuses_a_member_that_really_expands_past_the_limit(tmp_path: Path) -> None:
    """About half a megabyte of gzip that expands to 512 MiB and one byte: refused before a byte is written."""
    archive = zeros_archive(tmp_path / "bomb.tar.gz", f"{STEM}/metadata.json", MODEL_LIMIT + 1, MODEL_LIMIT + 1)
    assert archive.stat().st_size < 4 * 2**20
    (tmp_path / "target").mkdir()

    with pytest.raises(ReleaseError, match=rf"member '{STEM}/metadata\.json' is 536870913 bytes; .* at most 1048576"):
        release.unpack(archive, tmp_path / "target")
    assert list((tmp_path / "target").iterdir()) == []


def test_unpack__counts_what_it_decompresses_whatever_the_headers_say(tmp_path: Path) -> None:
    """An extended header is read into memory before its member is seen: the stream budget stops a huge one."""
    archive = zeros_archive(tmp_path / "pax.tar.gz", f"{STEM}/model.skops", 3, 3, pax={"comment": "x" * 2**25})
    (tmp_path / "target").mkdir()

    with pytest.raises(ReleaseError, match=r"pax\.tar\.gz: expands past 1048576 bytes before its first member"):
        release.unpack(archive, tmp_path / "target")
    assert list((tmp_path / "target").iterdir()) == []


def test_unpack__stops_a_member_that_expands_past_the_archive_budget(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model within its own limit, in an archive past the budget: stopped while it is copied, its file removed."""
    monkeypatch.setattr(release, "MAX_ARCHIVE_BYTES", 4 * 2**20)
    archive = tmp_path / "big.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:  # a card, then an 8 MiB model
        tar.add(package / release.CARD_FILE, arcname=f"{STEM}/{release.CARD_FILE}")
        info = tarfile.TarInfo(f"{STEM}/{release.MODEL_FILE}")
        info.size = 8 * 2**20
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    (tmp_path / "target").mkdir()

    with pytest.raises(ReleaseError, match=rf"expands past 4194304 bytes at member '{STEM}/model\.skops'"):
        release.unpack(archive, tmp_path / "target")
    assert list((tmp_path / "target").iterdir()) == []


def test_load_release__refuses_a_bad_archive_and_removes_its_temporary_folder(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: archives unpack under tmp_path/unpack, so `../evil` would land at tmp_path/evil
    (tmp_path / "unpack").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "unpack"))
    archive = package_then(package, tmp_path / "evil.tar.gz", ("../evil", b"owned"))

    # when / then
    with pytest.raises(ReleaseError, match=r"evil\.tar\.gz: member '\.\./evil' has a path outside the package"):
        load_release(archive)
    assert not (tmp_path / "evil").exists(), "a member outside the package folder was extracted"
    assert list((tmp_path / "unpack").iterdir()) == [], "the temporary folder was not removed"


def test_load_release__never_runs_tarfiles_extraction(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The filter bypasses fixed in Python 3.11.13 live in tarfile's extraction; the loader writes files itself."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("tarfile extraction ran")

    for method in ("extract", "extractall", "_extract_member", "_get_extract_tarinfo"):
        monkeypatch.setattr(tarfile.TarFile, method, forbidden)
    archive = archive_of(package, tmp_path / f"{STEM}.tar.gz")

    assert load_release(archive).version == "1.2.0"


def test_load_release__refuses_an_archive_without_a_folder(tmp_path: Path) -> None:
    archive = tar_gz(tmp_path / "empty.tar.gz", {})

    with pytest.raises(ReleaseError, match=r"empty\.tar\.gz: (holds no package folder|not a readable release)"):
        load_release(archive)


def test_load_release__refuses_a_file_that_is_not_a_gzip(tmp_path: Path) -> None:
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(b"not gzip at all")

    with pytest.raises(ReleaseError, match=r"broken\.tar\.gz: not a readable release archive"):
        load_release(archive)


@pytest.mark.parametrize("name", ["missing-folder", "package.zip"])
def test_load_release__refuses_what_is_not_a_package(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".zip"):
        path.write_bytes(b"PK")

    with pytest.raises(ReleaseError, match=rf"release package '.*{name}' not found; give a package directory"):
        load_release(path)


@pytest.mark.parametrize("version", ["1.2.0", "v1.2.0"])
def test_find_package__finds_the_folder_of_a_version(package: Path, version: str) -> None:
    dist = package.parent
    (dist / f"{STEM}.tar.gz").write_bytes(b"")  # the archive beside it is not a candidate
    make_package(dist / "fraud-model-v1.10.0", (package / release.MODEL_FILE).read_bytes())

    assert find_package(version, dist) == package


def test_find_package__lists_what_exists_when_not_found(package: Path) -> None:
    dist = package.parent
    (dist / "fraud-model-v1.3.0").mkdir()

    with pytest.raises(
        ReleaseError,
        match=r"no package for version v2\.0\.0 under .*dist/ \(found: fraud-model-v1\.2\.0, fraud-model-v1\.3\.0\); "
        r"run `make package`",
    ):
        find_package("2.0.0", dist)


def test_find_package__says_none_when_dist_is_empty(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match=r"\(found: none\)"):
        find_package("1.0.0", tmp_path / "dist")


def rewrite_metadata(package: Path, text: str) -> None:
    """Replace the package's metadata.json and list it again in SHA256SUMS: intact, but written wrong."""
    (package / release.METADATA_FILE).write_text(text, encoding="utf-8")
    (package / release.CHECKSUMS_FILE).write_text(checksums(package), encoding="utf-8")


def test_load_release__gives_the_metadata_as_its_typed_record(package: Path) -> None:
    loaded = load_release(package)

    assert isinstance(loaded.metadata, ReleaseMetadata)
    assert (loaded.metadata.name, loaded.metadata.git_sha, loaded.metadata.metrics) == ("fraud-model", None, {})


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param(
            {"challenge": {"passed": "yes", "verdict": "gate passed"}},
            "metadata.json challenge.passed must be a valid boolean; got 'yes'",
            id="nested-field",
        ),
        pytest.param(
            {"metrics": {"roc_auc": "0.9"}},
            "metadata.json metrics.roc_auc must be a valid number; got '0.9'",
            id="metric",
        ),
        pytest.param(
            {"threshold": "0.4", "class_labels": {"0": "legit"}},
            "metadata.json threshold must be a number between 0 and 1; got '0.4'; "
            """metadata.json class_labels must map "0" and "1" to labels; got {'0': 'legit'}""",
            id="two-fields",
        ),
    ],
)
def test_load_release__malformed_metadata_names_the_field_and_the_fix(
    package: Path, change: dict, problem: str
) -> None:
    metadata = json.loads((package / release.METADATA_FILE).read_text(encoding="utf-8"))
    rewrite_metadata(package, json.dumps(metadata | change))

    with pytest.raises(ReleaseError) as raised:
        load_release(package)

    assert str(raised.value) == f"{package}: not a usable release package ({problem}); rebuild it with `make package`"


def test_load_release__metadata_that_is_not_json(package: Path) -> None:
    rewrite_metadata(package, '{"version": "1.2.0",')

    with pytest.raises(ReleaseError, match=r"not a usable release package \(metadata\.json is not valid JSON \("):
        load_release(package)


def test_load_release__a_contract_without_fields_is_named_beside_the_metadata(package: Path) -> None:
    rewrite_metadata(package, json.dumps({"version": "1.2.0", "threshold": 0.4}))
    (package / release.INPUT_SCHEMA_FILE).write_text(json.dumps({"type": "object"}), encoding="utf-8")
    (package / release.CHECKSUMS_FILE).write_text(checksums(package), encoding="utf-8")

    with pytest.raises(ReleaseError) as raised:
        load_release(package)

    assert str(raised.value) == (
        f'{package}: not a usable release package (metadata.json class_labels must map "0" and "1" to labels; '
        "got None; input_schema.json lists no input fields under properties); rebuild it with `make package`"
    )
