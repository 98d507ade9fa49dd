"""Pod mutation: which Instrumentation a pod asks for, into which containers, and whether it is
already instrumented (pkg/instrumentation/podmutator.go of the OpenTelemetry Operator).

A pod is never refused: every problem leaves it as it came, with a reason for the log.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from collector.operator import languages, sdk_env
from collector.operator.instrumentation import LANGUAGES, Instrumentation

PREFIX = "instrumentation.opentelemetry.io/"
INJECT_ANNOTATIONS = {lang: f"{PREFIX}inject-{lang}" for lang in LANGUAGES}
CONTAINER_NAMES_ANNOTATION = f"{PREFIX}container-names"
LANGUAGE_CONTAINER_ANNOTATIONS = {lang: f"{PREFIX}{lang}-container-names" for lang in LANGUAGES}
COLLECTOR_SIDECAR_NAME = "otc-container"
_CONTAINER_NAMES = re.compile(r"^[a-zA-Z0-9-,]+$")


class Store(Protocol):
    def get(self, namespace: str, name: str) -> Instrumentation | None: ...
    def list(self, namespace: str) -> list[Instrumentation]: ...


class ResolveError(Exception):
    """The annotation names no usable Instrumentation."""


@dataclass
class Result:
    pod: dict[str, Any]
    injected: dict[str, list[str]] = field(default_factory=dict)  # language -> container names
    reason: str = ""  # why nothing (or not everything) was injected
    error: bool = False  # the reason is a failure the operator would report as an error


def already_instrumented(pod: dict[str, Any]) -> bool:
    names = set(languages.INIT_CONTAINER_NAMES.values())
    if any(c.get("name") in names for c in pod["spec"].get("initContainers") or []):
        return True
    for c in pod["spec"].get("containers") or []:
        if c.get("name") == languages.SIDECAR_NAME:
            return True
        # The operator's collector sidecar carries the variable too without being instrumented.
        if c.get("name") == COLLECTOR_SIDECAR_NAME:
            continue
        if any(e.get("name") == sdk_env.ENV_NODE_NAME for e in c.get("env") or []):
            return True
    return False


class Mutator:
    def __init__(self, store: Store, default_namespace: str, logger: logging.Logger | None = None):
        self.store = store
        self.default_namespace = default_namespace
        self.log = logger or logging.getLogger("collector.operator.mutator")

    def resolve(self, value: str, namespace: str) -> Instrumentation | None:
        """Annotation value -> Instrumentation. "false"/"" mean none. A bare name is looked up
        in the pod's namespace, then where the chart installed `skuber-instrumentation`."""
        if not value or value.lower() == "false":
            return None
        if value.lower() == "true":
            for ns in dict.fromkeys([namespace, self.default_namespace]):
                found = self.store.list(ns)
                if len(found) > 1:
                    raise ResolveError("multiple OpenTelemetry Instrumentation instances available, "
                                       "cannot determine which one to select")
                if found:
                    return found[0]
            raise ResolveError("no OpenTelemetry Instrumentation instances available")
        if "/" in value:
            ns, name = value.split("/", 1)
            candidates = [(ns, name)]
        else:
            candidates = [(namespace, value), (self.default_namespace, value)]
        for ns, name in candidates:
            inst = self.store.get(ns, name)
            if inst is not None:
                return inst
        raise ResolveError(f'instrumentations.opentelemetry.io "{value}" not found '
                           f"(looked in: {', '.join(dict.fromkeys(ns for ns, _ in candidates))})")

    def _containers(self, annotations: dict[str, str], requested: dict[str, Instrumentation]) -> dict[str, list[str]]:
        common = annotations.get(CONTAINER_NAMES_ANNOTATION, "")
        chosen: dict[str, list[str]] = {}
        for lang in requested:
            # As the operator: the common names, then the language's own appended to them (a
            # name in both is a duplicate, refused below).
            chosen[lang] = []
            for value in (common, annotations.get(LANGUAGE_CONTAINER_ANNOTATIONS[lang], "")):
                if value and not _CONTAINER_NAMES.match(value):
                    raise ResolveError(f"not valid characters included in the instrumentation "
                                       f"container annotation {value}")
                chosen[lang] += [n for n in value.split(",") if n]
        every = [n for names in chosen.values() for n in names]
        duplicates = sorted({n for n in every if every.count(n) > 1})
        if duplicates:
            raise ResolveError(f"duplicated container names detected: [{' '.join(duplicates)}]")
        if len(chosen) > 1 and any(not names for names in chosen.values()):
            raise ResolveError("incorrect instrumentation configuration - please provide container "
                               "names for all instrumentations")
        return chosen

    def mutate(self, pod: dict[str, Any], namespace: str) -> Result:
        """Returns the mutated copy of `pod` (the input is not changed)."""
        if not isinstance(pod.get("spec"), dict) or not pod["spec"].get("containers"):
            return Result(pod, reason="pod has no containers")
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        if not any(annotations.get(a) for a in INJECT_ANNOTATIONS.values()):
            return Result(pod)
        if already_instrumented(pod):
            return Result(pod, reason="Skipping pod instrumentation - already instrumented")
        try:
            requested = {}
            for lang in LANGUAGES:
                inst = self.resolve(str(annotations.get(INJECT_ANNOTATIONS[lang], "")), namespace)
                if inst is not None:
                    requested[lang] = inst
            if not requested:
                return Result(pod)
            chosen = self._containers(annotations, requested)
        except ResolveError as err:
            return Result(pod, reason=str(err), error=True)

        out = copy.deepcopy(pod)
        result = Result(out)
        skipped = []
        for lang, inst in requested.items():
            names = chosen[lang] or [out["spec"]["containers"][0].get("name", "")]
            if lang == "go":
                before = copy.deepcopy(out)
                reason = self._inject_go(inst, out, names, annotations, namespace)
                if reason:
                    skipped.append(f"go: {reason}")
                    out = result.pod = before
                else:
                    result.injected["go"] = names[:1]
                continue
            for name in names:
                index = _container_index(out, name)
                if index is None:
                    skipped.append(f"{lang}: container {name} not found in the pod")
                    continue
                target = out["spec"]["containers"][index]
                try:
                    languages.INJECTORS[lang](inst.languages[lang], out, index, annotations)
                except languages.Skip as err:
                    skipped.append(f"{lang}: {err} (container {target.get('name')})")
                    continue
                sdk_env.inject_common_env(inst, out, index)
                sdk_env.inject_sdk_config(inst, namespace, out, index, index,
                                          http=lang in ("python", "dotnet"))
                _copy_security_context(out, target, languages.INIT_CONTAINER_NAMES[lang])
                result.injected.setdefault(lang, []).append(target.get("name", ""))
        result.reason = "; ".join(skipped)
        return result

    def _inject_go(self, inst: Instrumentation, pod: dict[str, Any], names: list[str],
                   annotations: dict[str, str], namespace: str) -> str:
        try:
            languages.inject_go(inst.languages["go"], pod, names, annotations)
        except languages.Skip as err:
            return str(err)
        agent = len(pod["spec"]["containers"]) - 1
        sdk_env.inject_common_env(inst, pod, agent)
        # The operator reads the app's identity from the first container for Go.
        sdk_env.inject_sdk_config(inst, namespace, pod, agent, 0)
        if languages.env_index(pod["spec"]["containers"][agent].get("env") or [],
                               "OTEL_GO_AUTO_TARGET_EXE") == -1:
            return "OTEL_GO_AUTO_TARGET_EXE not set"
        return ""


def _container_index(pod: dict[str, Any], name: str) -> int | None:
    """The operator falls back to the first container for a name the pod does not have; two
    such names would then inject twice into it (duplicate mounts: the API server rejects the
    pod). We skip unknown names instead, with a reason in the log."""
    for i, c in enumerate(pod["spec"]["containers"]):
        if c.get("name") == name:
            return i
    return None


def _copy_security_context(pod: dict[str, Any], container: dict[str, Any], init_name: str) -> None:
    # The init container writes files the app must read: it runs as the app does.
    for init in pod["spec"].get("initContainers") or []:
        if init.get("name") == init_name:
            if container.get("securityContext") is not None:
                init["securityContext"] = copy.deepcopy(container["securityContext"])
            else:
                init.pop("securityContext", None)
