"""RFC 6902 JSON Patch between two JSON documents: the AdmissionReview answer is the difference
between the pod the API server sent and the pod we want.

Dicts are diffed key by key (so fields we do not understand are never touched); lists are
diffed element by element, with adds/removes at the end, which is exact for what injection does
(append containers, volumes, env) and still correct, if longer, for an insertion at the front.
"""

from __future__ import annotations

from typing import Any


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        ops: list[dict[str, Any]] = []
        for key in old:
            if key not in new:
                ops.append({"op": "remove", "path": f"{path}/{_escape(key)}"})
        for key, value in new.items():
            sub = f"{path}/{_escape(key)}"
            if key not in old:
                ops.append({"op": "add", "path": sub, "value": value})
            else:
                ops.extend(diff(old[key], value, sub))
        return ops
    if isinstance(old, list) and isinstance(new, list):
        ops = []
        for i in range(min(len(old), len(new))):
            ops.extend(diff(old[i], new[i], f"{path}/{i}"))
        for i in range(len(old), len(new)):
            ops.append({"op": "add", "path": f"{path}/{i}", "value": new[i]})
        # Remove from the end so earlier indexes stay valid while the patch applies.
        for i in range(len(old) - 1, len(new) - 1, -1):
            ops.append({"op": "remove", "path": f"{path}/{i}"})
        return ops
    # bool is an int in Python: compare types too, so True never "equals" 1.
    if type(old) is not type(new) or old != new:
        return [{"op": "replace", "path": path, "value": new}]
    return []
