"""Manifests as commands print them: `render`'s final documents (YAML with source comments, or
JSON) and `validate -o json`'s problem list."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from reconciler.errors import ManifestIssue

Document = tuple[str, int, dict[str, object]]  # file, index in the file, the document


def write_documents(documents: Sequence[Document], overlays: Mapping[str, Sequence[str]],
                    output: str, out: TextIO) -> None:
    if output == "json":
        out.write(json.dumps([doc for _, _, doc in documents], indent=2, ensure_ascii=False) + "\n")
        out.flush()
        return
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    for n, (file, index, doc) in enumerate(documents):
        metadata = doc.get("metadata")
        name = metadata.get("name", "") if isinstance(metadata, dict) else ""
        source = f"{file}" + (f" (document {index + 1})" if index else "")
        patched = overlays.get(name)
        if n:
            out.write("---\n")
        out.write(f"# source: {source}\n")
        if patched:
            out.write(f"# overlays: {', '.join(patched)}\n")
        yaml.dump(doc, out)
    out.flush()


def issues_json(issues: Sequence[ManifestIssue]) -> str:
    """`validate -o json`: a list of {file, line, column, path, message, hint}."""
    return json.dumps([{"file": i.file, "line": i.line, "column": i.column, "path": i.path,
                        "message": i.message, "hint": i.hint} for i in issues], indent=2)
