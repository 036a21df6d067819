"""Stand-in for actions/cache/restore and actions/cache/save, backed by the folder `STANDIN_CACHE`.

Each entry is `<n>.tar` (the paths, relative to the workspace) and `<n>.json` (its key and when it was saved).
Restore takes the entry with exactly the key, else, for each restore key in order, the newest entry whose key starts
with it; `cache-hit` is true only for the exact key. As on GitHub, only entries saved with the same `path` input match
(the paths are part of a cache's version), and save never replaces an existing key.
"""

from __future__ import annotations

import json
import os
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, os.environ["STANDIN_LIB"])
from standin import action_inputs, fail, lines, record, set_outputs, workspace  # noqa: E402


def entries() -> list[dict]:
    store = Path(os.environ["STANDIN_CACHE"])
    found = [json.loads(meta.read_text(encoding="utf-8")) for meta in store.glob("*.json")]
    return sorted(found, key=lambda entry: entry["saved"], reverse=True)


def restore() -> None:
    inputs = action_inputs("path", "key", "restore-keys", "fail-on-cache-miss", "lookup-only")
    key, prefixes = inputs["key"], lines(inputs["restore-keys"])
    everything = [e for e in entries() if e["version"] == lines(inputs["path"])]
    match = next((e for e in everything if e["key"] == key), None)
    for prefix in prefixes:
        match = match or next((e for e in everything if e["key"].startswith(prefix)), None)
    record("cache/restore", inputs=inputs, matched=match and match["key"])
    set_outputs(cache_primary_key=key)
    if match is None:
        if inputs["fail-on-cache-miss"] == "true":
            fail(f"Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: {key}")
        print(f"Cache not found for input keys: {', '.join([key, *prefixes])}")
        set_outputs(cache_hit="false")
        return
    if inputs["lookup-only"] != "true":
        with tarfile.open(match["tar"]) as tar:
            tar.extractall(workspace(), filter="data")
    set_outputs(cache_hit=str(match["key"] == key).lower(), cache_matched_key=match["key"])
    print(f"Cache restored from key: {match['key']}")


def save() -> None:
    inputs = action_inputs("path", "key")
    key, paths = inputs["key"], lines(inputs["path"])
    record("cache/save", inputs=inputs)
    if not key:
        fail("Input required and not supplied: key")
    if any(e["key"] == key for e in entries()):
        print(f"::warning::Failed to save: Unable to reserve cache with key {key}, another job may be creating it.")
        return
    existing = [p for p in paths if (workspace() / p).exists()]
    if not existing:
        print("::warning::Path Validation Error: Path(s) specified in the action for caching do(es) not exist.")
        return
    store = Path(os.environ["STANDIN_CACHE"])
    number = len(list(store.glob("*.json")))
    tar_path = store / f"{number}.tar"
    with tarfile.open(tar_path, "w") as tar:
        for path in existing:
            tar.add(workspace() / path, arcname=path)
    meta = {"key": key, "saved": time.time_ns(), "tar": str(tar_path), "paths": existing, "version": paths}
    (store / f"{number}.json").write_text(json.dumps(meta), encoding="utf-8")
    set_outputs(cache_id=number)
    print(f"Cache saved with key: {key}")


if __name__ == "__main__":
    {"restore": restore, "save": save}[sys.argv[1]]()
