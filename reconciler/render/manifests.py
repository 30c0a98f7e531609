"""`yottactl render`: the final manifest documents, as YAML with source comments or JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TextIO

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
