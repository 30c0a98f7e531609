"""What a manifest must satisfy for the API version yottactl speaks (issue 27): v2 names are
1-20 characters, starting with a letter, and a blue-green rollout of NAME runs its new
deployment as ``NAME@alt`` (plan/rollout.py), so the name leaves room for that suffix; fields one
version does not know (the field table's ``versions``) and its length limits (v2's webhook:
512); v2's credential id is an integer on the wire, so it must be one's own text.
The manifest format is the same for both versions. Pure: no I/O.
"""

from __future__ import annotations

from reconciler.fields import FIELDS, NAME_MAX_LENGTH, V1, V2
from reconciler.manifest.positions import Loc
from reconciler.manifest.schema import RESERVED_NAME_SUFFIX, Manifest

Issue = tuple[Loc, str, str]  # (location in the document, message, hint)
INT64_MAX = 2**63 - 1  # v2 sends the credential id as a JSON integer (OpenAPI: int64)


def name_rule(version: str) -> str:
    """The hint for a name the schema refuses (``1abc``), with ``version``'s length limit."""
    limit = NAME_MAX_LENGTH[version]
    room = (f" under the v2 API; {limit - len(RESERVED_NAME_SUFFIX)} for a blueGreen rollout, "
            f"whose new deployment is NAME{RESERVED_NAME_SUFFIX}" if version == V2 else "")
    return f"names start with a letter and use letters, digits, @ . _ - (at most {limit}{room})"


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
    if version == V2 and spec.credentialId:
        issues += _credential_issues(spec.credentialId)
    for row in _CHECKED[version]:
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


# per version, the rows version_issues can find fault with: fields it does not know, and v2's
# length limits (every other row always passes: not looked at, per manifest, at all)
_CHECKED = {version: tuple(row for row in FIELDS if version not in row.versions
                           or (version == V2 and row.v2_max_length is not None))
            for version in (V1, V2)}


def _credential_issues(value: str) -> list[Issue]:
    """v2 sends the credential id as an integer and reads it back as that number's text: an id
    that is not already that text (``0012``, beyond int64) would plan an update forever."""
    where = ("spec", "credentialId")
    if not value.isdecimal() or not value.isascii():
        return [(where, f"credentialId {value!r} is not a number: the v2 API takes an integer",
                 "credential ids are the numbers shown in the Yotta console")]
    if int(value) > INT64_MAX:
        return [(where, f"credentialId {value!r} is larger than the v2 API's integer holds "
                 f"(at most {INT64_MAX})", "credential ids are the numbers shown in the Yotta "
                 "console; check for a typo, or use the v1 API (--api-version v1)")]
    if str(int(value)) != value:
        return [(where, f"credentialId {value!r} has leading zeros: the v2 API takes an integer, "
                 f"so it is sent as {int(value)} and read back as \"{int(value)}\", a "
                 "difference every plan would try to update", f"write credentialId: "
                 f"\"{int(value)}\" (the number itself)")]
    return []
