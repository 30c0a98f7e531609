"""Overlays: per-environment patches of base manifests, matched by ``metadata.name``.

An overlay document is manifest-shaped (``metadata.name`` plus the parts of ``spec`` and
``lifecycle`` to change). The merge is Kustomize's strategic merge in spirit:

- a mapping merges key by key; any other value replaces; ``KEY: null`` deletes the key;
- ``spec.resources`` merges by (region, gpuType); an entry with ``$patch: delete`` removes one;
- ``spec.environmentVars`` merges by key, in either form; ``KEY: null`` (mapping form) or
  ``{key: K, $patch: delete}`` (list form) removes one.

Merging runs on the raw YAML data before interpolation and validation. Only when a document
has an error are the merges replayed with *origins* recorded, so the error can name the
overlay's file:line:col when the value came from an overlay (the fast path records nothing).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reconciler.errors import ManifestIssue
from reconciler.fields import field_path
from reconciler.manifest.positions import Locator

Loc = tuple[str | int, ...]  # a path into a document: mapping keys and list indices
DELETE = "$patch"
_TOP_KEYS = ("apiVersion", "kind", "metadata", "spec", "lifecycle")


@dataclass(frozen=True)
class Patch:
    file: str
    index: int  # document number in the overlay file
    body: dict[str, object]
    locator: Locator = field(compare=False)

    def position(self, loc: Loc, key: bool = False) -> tuple[str, int, int]:
        line, col = self.locator.position(self.index, loc, key=key)
        return self.file, line, col


# where a merged value came from: (None, path in the previous document) or (patch, path in it)
Origin = tuple[Patch | None, Loc]


class _Merge:
    def __init__(self, patch: Patch, origins: dict[Loc, Origin] | None) -> None:
        self.patch, self.origins = patch, origins
        self.issues: list[ManifestIssue] = []

    def note(self, merged: Loc, source: Patch | None, path: Loc) -> None:
        if self.origins is not None:
            self.origins[merged] = (source, path)

    def problem(self, loc: Loc, message: str, hint: str) -> None:
        file, line, col = self.patch.position(loc)
        self.issues.append(ManifestIssue(file, line, col, field_path(loc), message, hint))

    def mapping(self, base: dict[str, object], patch: dict[str, object], path: Loc) -> dict[str, object]:
        out = dict(base)
        for key, value in patch.items():
            here = (*path, key)
            if value is None:
                out.pop(key, None)
            elif here == ("spec", "resources") and isinstance(value, list) \
                    and isinstance(old := base.get(key), list):
                out[key] = self.resources(old, value, here)
            elif here == ("spec", "environmentVars") and isinstance(value, (dict, list)) \
                    and isinstance(old := base.get(key), (dict, list)):
                out[key] = self.env(old, value, here)
            elif isinstance(value, dict) and isinstance(old := base.get(key), dict):
                out[key] = self.mapping(old, value, here)
            else:
                out[key] = value
                self.note(here, self.patch, here)
        return out

    def resources(self, base: list[object], patch: list[object], path: Loc) -> list[object]:
        def ident(item: object) -> tuple[object, object] | None:
            if isinstance(item, dict) and "region" in item and "gpuType" in item:
                return item["region"], item["gpuType"]
            return None

        entries: list[tuple[object, Origin]] = [(item, (None, (*path, i))) for i, item in enumerate(base)]
        for j, item in enumerate(patch):
            here = (*path, j)
            key = ident(item)
            at = next((n for n, (old, _) in enumerate(entries) if key and ident(old) == key), None)
            if isinstance(item, dict) and DELETE in item:
                if self._directive(item, here) and at is None:
                    self.problem(here, f"no resources entry {key[0]}/{key[1]} to delete"
                                 if key else "a deleted resources entry needs region and gpuType",
                                 "a `$patch: delete` entry names an entry of the base manifest")
                elif at is not None:
                    del entries[at]
                continue
            if at is not None and isinstance(item, dict) and isinstance(old := entries[at][0], dict):
                entries[at] = ({**old, **item}, (self.patch, here))
            else:
                entries.append((item, (self.patch, here)))
        for n, (_, origin) in enumerate(entries):
            self.note((*path, n), *origin)
        return [item for item, _ in entries]

    def env(self, base: dict[str, object] | list[object], patch: dict[str, object] | list[object],
            path: Loc) -> dict[object, object] | list[object]:
        as_list = isinstance(base, list)
        # key -> (entry in the base's form, origin), in order
        merged: dict[object, tuple[object, Origin]] = {}
        if isinstance(base, dict):
            merged = {k: (v, (None, (*path, k))) for k, v in base.items()}
        else:
            for i, item in enumerate(base):
                key = item.get("key") if isinstance(item, dict) else ("#", i)
                merged[key] = (item, (None, (*path, i)))
        items = patch.items() if isinstance(patch, dict) else enumerate(patch)
        for ref, item in items:
            here = (*path, ref)
            if isinstance(patch, dict):
                key, value, delete = ref, item, item is None
                entry = {"key": key, "value": value} if as_list else value
            elif isinstance(item, dict):
                key, value = item.get("key"), item.get("value")
                delete = DELETE in item and self._directive(item, here)
                entry = {k: v for k, v in item.items() if k != DELETE} if as_list else value
            else:
                key, delete, entry = ("#", here), False, item
            if delete:
                if key not in merged:
                    self.problem(here, f"environment variable {key!r} is not in the base manifest",
                                 "only variables the base manifest sets can be deleted")
                merged.pop(key, None)
            else:
                merged[key] = (entry, (self.patch, here))
        for n, (key, (_, origin)) in enumerate(merged.items()):
            self.note((*path, n) if as_list else (*path, _part(key)), *origin)
        if as_list:
            return [entry for entry, _ in merged.values()]
        return {k: entry for k, (entry, _) in merged.items()}

    def _directive(self, item: dict[str, object], loc: Loc) -> bool:
        if item[DELETE] == "delete":
            return True
        self.problem((*loc, DELETE), f"unsupported $patch {item[DELETE]!r}",
                     "the only directive is `$patch: delete`")
        return False


def _part(key: object) -> str | int:
    """A mapping key as a part of a Loc (YAML allows other scalars as keys)."""
    return key if isinstance(key, (str, int)) else str(key)



class OverlaySet:
    """The overlay files of one environment, parsed and indexed by deployment name."""

    def __init__(self, files: Sequence[str]) -> None:
        self.issues: list[ManifestIssue] = []
        self.by_name: dict[str, list[Patch]] = {}
        self._seen: set[str] = set()  # deployments an overlay patched
        self._names: set[str] = set()  # every deployment name in the base documents
        self._applied: dict[tuple[str, int], tuple[dict[str, object], list[Patch]]] = {}
        for file in files:
            self._read(file)

    def _read(self, file: str) -> None:
        from reconciler import fastyaml, localfile
        from reconciler.fastyaml import yaml_issue

        try:
            text = localfile.read_text(file, localfile.OVERLAY_CAP)
        except localfile.UnreadableFile as exc:
            self.issues.append(ManifestIssue(file, 1, 1, "", f"cannot read overlay: {exc.reason}",
                                             "check the environment's `overlays:` in yottactl.yaml"))
            return
        try:
            documents = fastyaml.load_all(text)
        except fastyaml.YamlStructureError as exc:
            self.issues.append(ManifestIssue(file, exc.line, exc.column, "", str(exc), exc.hint))
            return
        except Exception as exc:  # ruamel's syntax errors, translated at the boundary
            self.issues.append(yaml_issue(file, text, exc))
            return
        locator = Locator(file, text)
        for index, document in enumerate(documents):
            if document is not None:
                self._document(Patch(file, index, document, locator))

    def _document(self, patch: Patch) -> None:
        body = patch.body

        def bad(loc: Loc, message: str, hint: str, key: bool = False) -> None:
            file, line, col = patch.position(loc, key=key)
            self.issues.append(ManifestIssue(file, line, col, field_path(loc), message, hint))

        if not isinstance(body, dict):
            bad((), "an overlay document is a mapping",
                "write metadata.name plus the spec/lifecycle fields to change")
            return
        for key in body:
            if key not in _TOP_KEYS:
                close = difflib.get_close_matches(str(key), _TOP_KEYS, n=1, cutoff=0.5)
                bad((key,), f"unknown field {key!r}",
                    f"did you mean {close[0]!r}?" if close else "allowed: metadata, spec, lifecycle",
                    key=True)
        for key in ("spec", "lifecycle"):
            if key in body and not isinstance(body[key], dict):
                bad((key,), f"{key} must be a mapping", "patch individual fields: spec: {workers: 3}")
        meta = body.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if not isinstance(name, str):
            bad(("metadata", "name") if isinstance(meta, dict) else ("metadata",),
                "an overlay must name the deployment it patches",
                "add metadata: {name: DEPLOYMENT}", key=True)
            return
        if isinstance(meta, dict) and set(meta) != {"name"}:
            bad(("metadata",), "an overlay cannot change metadata other than naming its target",
                "keep only metadata.name")
        self.by_name.setdefault(name, []).append(patch)

    def apply(self, document: object, file: str, index: int) -> object:
        """``document`` with every overlay for its name merged in, in order."""
        if not self.by_name or not isinstance(document, dict):
            return document
        meta = document.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(name, str):
            self._names.add(name)
        patches = self.by_name.get(name) if isinstance(name, str) else None
        if not patches:
            return document
        self._seen.add(name)  # type: ignore[arg-type]
        self._applied[(file, index)] = (document, patches)
        merged = document
        for patch in patches:
            step = _Merge(patch, None)
            merged = step.mapping(merged, _payload(patch.body), ())
            self.issues.extend(step.issues)
        return merged

    def locate(self, file: str, index: int, loc: Loc, key: bool,
               base: Callable[[Loc, bool], tuple[int, int]], merged: object) -> tuple[str, int, int]:
        """file:line:col of ``loc`` in a merged document: the overlay's when the value came
        from one, else the base file's (indexes remapped through deletions)."""
        line, col = 0, 0
        applied = self._applied.get((file, index))
        if applied is None:
            line, col = base(loc, key)
            return file, line, col
        loc = by_key(merged, loc)
        document, patches = applied
        levels: list[dict[Loc, Origin]] = []
        current = document
        for patch in patches:  # replay with origins: only ever on the error path
            origins: dict[Loc, Origin] = {}
            current = _Merge(patch, origins).mapping(current, _payload(patch.body), ())
            levels.append(origins)
        for origins in reversed(levels):
            for cut in range(len(loc), 0, -1):
                hit = origins.get(loc[:cut])
                if hit is None:
                    continue
                source, path = hit
                loc = (*path, *loc[cut:])
                if source is not None:
                    return source.position(loc, key=key)
                break
        line, col = base(loc, key)
        return file, line, col

    def unmatched(self) -> list[ManifestIssue]:
        """Overlays that name no base manifest: errors (a typo must not silently do nothing)."""
        issues = []
        known = self._names
        for name, patches in sorted(self.by_name.items()):
            if name in self._seen:
                continue
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
            for patch in patches:
                file, line, col = patch.position(("metadata", "name"))
                issues.append(ManifestIssue(
                    file, line, col, "metadata.name",
                    f"overlay patches {name!r}, but no manifest defines that deployment",
                    f"did you mean {close[0]!r}?" if close else "overlays patch base manifests by "
                    "metadata.name: check the name or add the manifest"))
        return issues


def _payload(body: dict[str, object]) -> dict[str, object]:
    """What an overlay changes: spec and lifecycle (apiVersion/kind/metadata only identify)."""
    return {k: v for k, v in body.items() if k in ("spec", "lifecycle")}


def by_key(document: object, loc: Loc) -> Loc:
    """Validation names env vars by position even in mapping form; origins use their keys."""
    out: list[str | int] = []
    node = document
    for part in loc:
        step: object = part
        if isinstance(node, dict) and isinstance(part, int):
            keys = list(node)
            if part >= len(keys):
                out.append(part)
                node = None
                continue
            step = keys[part]
        out.append(_part(step))
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            node = None
    return tuple(out)
