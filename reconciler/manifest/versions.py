"""What a manifest must satisfy for the API version yottactl speaks (issue 27): v2 names are
1-20 characters, starting with a letter, and a blue-green rollout of NAME runs its new
deployment as ``NAME@alt`` (plan/rollout.py), so the name leaves room for that suffix; fields one
version does not know (the field table's ``versions``) and its length limits (v2's webhook:
512). The manifest format is the same for both versions. Pure: no I/O.
"""

from __future__ import annotations

from reconciler.fields import FIELDS, NAME_MAX_LENGTH, V1, V2
from reconciler.manifest.positions import Loc
from reconciler.manifest.schema import RESERVED_NAME_SUFFIX, Manifest

Issue = tuple[Loc, str, str]  # (location in the document, message, hint)


def version_issues(manifest: Manifest, *, version: str, default_rollout: str | None) -> list[Issue]:
    """Everything in ``manifest`` that the ``version`` API would refuse."""
    other = V1 if version == V2 else V2
    issues: list[Issue] = []
    name = manifest.metadata.name
    blue_green = (manifest.lifecycle.rollout or default_rollout) == "blueGreen"
    limit = NAME_MAX_LENGTH[version]
    room = limit - len(RESERVED_NAME_SUFFIX) if blue_green and version == V2 else limit
    if len(name) > room:
        why = (f"; a blueGreen rollout runs the new deployment as {name}{RESERVED_NAME_SUFFIX}, "
               f"so the name itself may have at most {room}" if room < limit else "")
        issues.append((("metadata", "name"),
                       f"{name!r} has {len(name)} characters: the {version} API takes names of "
                       f"at most {limit} characters{why}",
                       f"shorten the name to at most {room} characters (a new name is a new "
                       f"deployment), or use the {other} API (--api-version {other})"))
    spec = manifest.spec
    for row in FIELDS:
        value = getattr(spec, row.name, None)
        if value in (None, "", ()):
            continue
        if version not in row.versions:
            issues.append((("spec", row.name), f"{row.name} is not part of the {version} API",
                           f"remove it, or use the {other} API (--api-version {other})"))
        elif version == V2 and row.v2_max_length is not None and isinstance(value, str) and \
                len(value) > row.v2_max_length:
            issues.append((("spec", row.name),
                           f"{row.name} has {len(value)} characters: the v2 API takes at most "
                           f"{row.v2_max_length}",
                           f"shorten it, or use the {other} API (--api-version {other})"))
    return issues
