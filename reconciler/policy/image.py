"""imagePolicy: an image reference, and the registry it is actually pulled from (the API pulls
from ``spec.imageRegistry`` when one is set, whatever the image's name says). Pure."""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reconciler.plan.model import SENSITIVE_PREFIX
from reconciler.policy.report import Violation
from reconciler.project_schema import ImagePolicy

# imageRegistry values that mean Docker Hub (the API's default, facts.DEFAULT_IMAGE_REGISTRY)
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io",
                              "registry.hub.docker.com"})


@dataclass(frozen=True, slots=True)
class ImageRef:
    registry: str  # docker.io for Docker Hub names
    path: str  # without registry, tag or digest
    tag: str | None
    digest: str | None
    named_registry: bool = False  # the name gives its registry (ghcr.io/..., docker.io/...)

    @classmethod
    def parse(cls, image: str) -> ImageRef:
        """Docker's reference grammar: [registry[:port]/]path[:tag][@sha256:64 hex], the path
        lowercase components (a-z 0-9, joined by . _ __ or -) separated by /. ValueError says
        what is malformed."""
        rest, at, digest = image.partition("@")
        if at and not _DIGEST.fullmatch(digest):
            raise ValueError(f"its digest {_cut(digest)!r} is not sha256: followed by 64 "
                             "lowercase hex digits")
        head, slash, last = rest.rpartition("/")
        name, colon, tag = last.partition(":")
        if colon and not _TAG.fullmatch(tag):
            raise ValueError(f"its tag {_cut(tag)!r} is not a tag (a letter, digit or _, then up "
                             "to 127 of those, . and -)")
        full = f"{head}{slash}{name}"
        first, sep, remainder = full.partition("/")
        named = bool(sep) and ("." in first or ":" in first or first == "localhost")
        registry, path = (first.lower(), remainder) if named else ("docker.io", full)
        if named and not _DOMAIN.fullmatch(first):
            raise ValueError(f"its registry {_cut(first)!r} is not a host[:port]")
        if not _PATH.fullmatch(path):
            raise ValueError(f"its repository {_cut(path)!r} is not lowercase path components "
                             "(a-z, 0-9, joined by . _ __ or -) separated by /")
        if registry in DOCKER_HUB_HOSTS:
            registry = "docker.io"
        return cls(registry, path, tag if colon else None, digest or None, named)


_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
_DOMAIN = re.compile(rf"(?:{_HOST}(?:\.{_HOST})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def _cut(value: str) -> str:
    return value if len(value) <= 40 else value[:40] + "…"

def within(full: str, prefix: str) -> bool:
    """``full`` (registry/path) is ``prefix`` or under it; ``docker.io``: any Docker Hub name."""
    full, prefix = full.lower(), prefix.rstrip("/").lower()
    return full == prefix or full.startswith(prefix + "/")


def pull_registry(image_registry: str) -> str | None:
    """``spec.imageRegistry`` as host[:port][/path] (lowercase host), or None for Docker Hub
    (the default, which the image's own name then places); "" for one that is no URL."""
    value = image_registry.strip()
    if not value:
        return None
    parts = urlsplit(value if "://" in value else "//" + value)
    try:
        host, port = (parts.hostname or ""), parts.port
    except ValueError:  # a port that is no number
        return ""
    if not host or parts.username is not None or parts.query or parts.fragment:
        return ""
    if host in DOCKER_HUB_HOSTS:
        return None
    path = "/".join(p for p in parts.path.split("/") if p)
    return host + (f":{port}" if port else "") + (f"/{path}" if path else "")


def check_image(name: str, image: str, image_registry: str, sensitive: Set[str],
                r: ImagePolicy) -> list[Violation]:
    """imagePolicy's settings against one deployment's image and imageRegistry."""
    if image.startswith(SENSITIVE_PREFIX):  # a saved plan's fingerprint: the value is not here
        return []
    # a value from ${env:...} is never shown, nor any part of it (its registry host, its tag)
    hidden = "image" in sensitive
    shown = "(image from ${env:...}, not shown)" if hidden else image
    out: list[Violation] = []
    try:
        ref = ImageRef.parse(image)
    except ValueError as exc:  # nothing else can be judged on it: where, which tag or digest
        why = "it is not a Docker image reference" if hidden else str(exc)
        return [Violation("image-reference-invalid", "imagePolicy", r.level, name,
                          f"image {shown} is malformed: {why}",
                          "write REGISTRY/PATH:TAG or PATH@sha256:DIGEST (lowercase path; "
                          "`docker buildx imagetools inspect IMAGE` shows a digest)",
                          {"image": shown})]

    def add(code: str, message: str, hint: str, **values: Any) -> None:
        out.append(Violation(code, "imagePolicy", r.level, name, message, hint,
                             {"image": shown, **values}))

    if ref.tag is not None and ref.tag in r.forbidTags:
        add("image-tag-forbidden", f"image {shown} uses "
            + ("a forbidden tag" if hidden else f"the forbidden tag {ref.tag!r}"),
            "pin a release tag or a digest (@sha256:...)", tag=None if hidden else ref.tag)
    if r.forbidUntagged and ref.tag is None and ref.digest is None:
        add("image-untagged", f"image {shown} has no tag (it means latest)",
            "pin a release tag or a digest (@sha256:...)")
    if r.requireDigest and ref.digest is None:  # a digest parsed is sha256: and 64 hex
        add("image-digest-required", f"image {shown} is not pinned by digest",
            "append @sha256:DIGEST (`docker buildx imagetools inspect IMAGE` shows it)")
    if r.registries and not image_registry.startswith(SENSITIVE_PREFIX):
        out += _registry(name, ref, shown, pull_registry(image_registry), r,
                         hidden, "imageRegistry" in sensitive)
    return out


def _registry(name: str, ref: ImageRef, shown: str, pulled: str | None, r: ImagePolicy,
              hidden: bool, hidden_registry: bool) -> list[Violation]:
    """registries: where the image is pulled from must be allowed. Docker Hub (no
    imageRegistry): the image's own name says where; an imageRegistry: the image's path there
    (and the registry its name gives, if it names one)."""
    named = ("a registry not shown (the image is from ${env:...})" if hidden else ref.registry,
             f"{ref.registry}/{ref.path}", "image")
    if pulled is None:
        judged = [named]
    else:
        judged = [("a registry not shown (from ${env:...})" if hidden_registry or hidden
                   else pulled or "an imageRegistry that is no registry URL",
                   f"{pulled}/{ref.path}" if pulled else "", "imageRegistry")]
        if ref.named_registry:
            judged.append(named)
    for where, full, field in judged:
        if full and any(within(full, p) for p in r.registries):
            continue
        via = " (spec.imageRegistry)" if field == "imageRegistry" else ""
        return [Violation("image-registry-not-allowed", "imagePolicy", r.level, name,
                          f"image {shown} is {'pulled ' if via else ''}from {where}{via}, not "
                          f"from an allowed registry ({', '.join(r.registries)})",
                          "push it to an allowed registry"
                          + (", and set spec.imageRegistry to it (or leave it out)" if via
                             else ""),
                          {"image": shown, "registry": where, "allowed": list(r.registries),
                           "field": field})]
    return []
