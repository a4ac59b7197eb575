"""Reading a drop folder: which files are images, which are sidecars, which are rejected and why.

Every entry of the folder ends up in exactly one place: an image, a sidecar of an image, a marker,
or a `rejected` row with the reason. Symbolic links are never followed (a link may point out of
the drop, or back into it: ``loop -> .``) and special files (FIFOs, sockets, devices) never read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import uuid
from collections import Counter
from dataclasses import dataclass

import polars as pl

from hispatial_assets import schema
from hispatial_assets.storage import io
from hispatial_assets.storage.images import IMAGE_SUFFIXES, ImageRejected, probe_image

READY_MARKER = "_READY"
# Written by `add-drop`: the entries of the source folder it did not copy (links, special files) and
# why, so that they reach `rejected` like everything else.
SKIPPED_MANIFEST = "_SKIPPED.json"
# sidecar suffixes that stages know how to use, keyed by what they hold
SIDECARS = {
    "truth": ".truth.json",  # scene-engine ground truth (+ .truth.npz)
    "depth": ".depth.png",  # sensor depth, uint16 millimeters
    "intrinsics": ".intrinsics.json",
}
SIDECAR_SUFFIXES = (".truth.json", ".truth.npz", ".depth.png", ".intrinsics.json")
IGNORED = (READY_MARKER, SKIPPED_MANIFEST, "annotations.json")


@dataclass
class DropManifest:
    images: pl.DataFrame  # schema.IMAGES
    rejected: pl.DataFrame  # schema.REJECTED


@dataclass
class DropListing:
    files: list[str]  # regular files (uris), sorted
    odd: list[tuple[str, str]]  # (uri, reason) for links, special files and unreadable folders


def _special_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a regular file"


def link_reason(path: str) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return f"symbolic link to {target!r}: links are not followed"


def walk_local(top: str) -> DropListing:
    """Regular files under ``top`` without following any link; links and special files as odd entries."""
    files, odd = [], []

    def unreadable(err: OSError) -> None:
        odd.append((err.filename, f"unreadable folder: {err.strerror}"))

    for dirpath, dirnames, filenames in os.walk(top, onerror=unreadable, followlinks=False):
        for name in list(dirnames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                dirnames.remove(name)
                odd.append((path, link_reason(path)))
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                odd.append((path, link_reason(path)))
            elif not stat.S_ISREG(mode):
                odd.append((path, f"{_special_kind(mode)}, not a regular file"))
            else:
                files.append(path)
    return DropListing(sorted(files), sorted(odd))


def list_drop_files(drop_uri: str) -> DropListing:
    fs, path = io.fs_and_path(drop_uri)
    if not fs.isdir(path):
        raise FileNotFoundError(f"drop folder not found: {drop_uri}")
    if "://" not in drop_uri or drop_uri.startswith("file://"):
        return walk_local(path)
    proto = drop_uri.split("://", 1)[0] + "://"
    files = [proto + p if not p.startswith(proto) else p for p in fs.find(path)]
    return DropListing(sorted(files), [])


def natural_image_id(rel: str) -> str:
    """Path inside the drop without its suffix, '/' -> '__' (readable and stable)."""
    return rel.rsplit(".", 1)[0].replace("/", "__")


def assign_image_ids(rel_paths: list[str]) -> dict[str, str]:
    """Image ids, unique by construction: the natural id, and where two files would share one
    (``img.png`` + ``img.jpg``, ``sub/x.png`` + ``sub__x.png``) each of them gets a hash of its full
    path appended; drops without such clashes keep the ids they always had."""
    ids = {rel: natural_image_id(rel) for rel in rel_paths}
    digest = {rel: hashlib.sha256(rel.encode()).hexdigest() for rel in rel_paths}
    for n in (8, 16, 64):
        counts = Counter(ids.values())
        clashing = [rel for rel, image_id in ids.items() if counts[image_id] > 1]
        if not clashing:
            return ids
        for rel in clashing:
            ids[rel] = f"{natural_image_id(rel)}-{digest[rel][:n]}"
    if len(set(ids.values())) != len(ids):  # distinct paths have distinct sha256: unreachable
        raise AssertionError("image ids still clash after full-length hashes")
    return ids


def _is_hidden(rel: str) -> bool:
    return any(part.startswith(".") for part in rel.split("/"))


def scan_drop(drop_uri: str, drop_id: str, *, max_pixels: int | None = None) -> DropManifest:
    """One row per readable image; every other entry that is not a sidecar or marker is rejected with a reason."""
    base = drop_uri.rstrip("/")
    listing = list_drop_files(drop_uri)
    rel_of = {uri: uri[len(base) + 1:] if uri.startswith(base + "/") else uri.rsplit("/", 1)[-1] for uri in listing.files}
    present = set(listing.files)
    image_stems = {uri.rsplit(".", 1)[0] for uri in listing.files if uri.lower().endswith(IMAGE_SUFFIXES)}
    rejected = [(uri, reason) for uri, reason in listing.odd]
    accepted = []
    for uri in listing.files:
        rel, name = rel_of[uri], uri.rsplit("/", 1)[-1]
        if rel in IGNORED:
            if rel == SKIPPED_MANIFEST:
                rejected += [(io.join(base, e["path"]), e["reason"]) for e in io.read_json(uri)]
            continue
        if _is_hidden(rel):
            rejected.append((uri, "hidden file (a path part starts with '.')"))
        elif io.TEMP_MARK in name or io.CLAIM_MARK in name or name.endswith(".tmp"):
            rejected.append((uri, "temporary file of an unfinished write"))
        elif name.endswith(SIDECAR_SUFFIXES):
            stem = uri[: -len(next(s for s in SIDECAR_SUFFIXES if name.endswith(s)))]
            if stem not in image_stems:
                rejected.append((uri, f"sidecar without an image (no {stem.rsplit('/', 1)[-1]}.<image suffix>)"))
        elif not name.lower().endswith(IMAGE_SUFFIXES):
            rejected.append((uri, f"unsupported file type {name.rsplit('.', 1)[-1] if '.' in name else '(none)'!r}"))
        else:
            data = io.read_bytes(uri)
            try:
                info = probe_image(data, max_pixels=max_pixels)
            except ImageRejected as e:
                rejected.append((uri, str(e)))
                continue
            accepted.append((uri, io.sha256_bytes(data), len(data), info))  # not the bytes: a drop may not fit in memory
    ids = assign_image_ids([rel_of[uri] for uri, _, _, _ in accepted])
    images = []
    for uri, sha256, size, info in accepted:
        stem = uri.rsplit(".", 1)[0]
        sidecars = sorted(kind for kind, suffix in SIDECARS.items() if stem + suffix in present)
        images.append({
            "drop_id": drop_id, "image_id": ids[rel_of[uri]], "uri": uri, "width": info.width,
            "height": info.height, "sha256": sha256, "bytes": size, "format": info.format,
            "orientation": info.orientation, "sidecars": json.dumps(sidecars),
        })
    rows = [{"drop_id": drop_id, "uri": uri, "reason": reason, "stage": "drop_manifest"} for uri, reason in rejected]
    images_df = schema.conform(pl.DataFrame(images), "images") if images else schema.empty("images")
    rejected_df = schema.conform(pl.DataFrame(rows), "rejected") if rows else schema.empty("rejected")
    return DropManifest(images=images_df.sort("image_id"), rejected=rejected_df.sort("uri"))


def is_ready(drop_uri: str) -> bool:
    return io.exists(io.join(drop_uri, READY_MARKER))


@dataclass
class CopyReport:
    copied: int
    skipped: list[dict]  # {"path": relative path, "reason": why it was not copied}


INCOMING_PREFIX = ".incoming-"  # drops/.incoming-<pid>-<random>/: a local copy in progress


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_abandoned_copies(drops_dir: str) -> list[str]:
    """Delete the staging folders of `add-drop` copies whose process is gone (killed mid-copy)."""
    removed = []
    if not os.path.isdir(drops_dir):
        return removed
    for name in os.listdir(drops_dir):
        if not name.startswith(INCOMING_PREFIX):
            continue
        try:
            pid = int(name[len(INCOMING_PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(os.path.join(drops_dir, name), ignore_errors=True)
            removed.append(name)
    return removed


def copy_drop(src: str, dest: str) -> CopyReport:
    """Copy a folder of images to ``dest`` and mark it ready; all or nothing.

    Local sources are walked without following links: a link (to ``/etc/passwd``, to ``..``, or a
    loop) and a special file are not copied but listed in ``_SKIPPED.json`` with the reason, so the
    drop's `rejected` table shows them. On a local data root the copy goes to a hidden staging
    folder renamed into place at the end, so an interrupted copy (error or kill -9) never leaves a
    half drop behind; staging folders of killed copies are removed by the next `add-drop`.
    """
    src_fs, src_path = io.fs_and_path(src)
    if not src_fs.isdir(src_path):
        raise NotADirectoryError(f"{src} is not a folder")
    local_src = "://" not in src or src.startswith("file://")
    listing = walk_local(src_path) if local_src else DropListing(sorted(src_fs.find(src_path)), [])
    base = src_path.rstrip("/")
    skipped = [{"path": os.path.relpath(p, base), "reason": reason} for p, reason in listing.odd]
    dest_fs, dest_path = io.fs_and_path(dest)
    local_dest = "://" not in dest or dest.startswith("file://")
    parent = dest_path.rstrip("/").rsplit("/", 1)[0]
    if local_dest:
        remove_abandoned_copies(parent)
        staging = os.path.join(parent, f"{INCOMING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    else:
        staging = dest_path
    target = staging if local_dest else dest
    copied = 0
    try:
        for f in listing.files:
            rel = f[len(base) + 1:]
            if rel == READY_MARKER or rel == SKIPPED_MANIFEST:
                continue
            io.write_bytes(io.join(target, rel), src_fs.cat_file(f))
            copied += 1
        if skipped:
            io.write_json(io.join(target, SKIPPED_MANIFEST), skipped)
        io.write_bytes(io.join(target, READY_MARKER), b"")  # complete: the sensor may pick it up now
        if local_dest:
            os.rename(staging, dest_path)  # fails if dest appeared meanwhile: nothing is overwritten
    except BaseException:
        if local_dest:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    return CopyReport(copied, skipped)
