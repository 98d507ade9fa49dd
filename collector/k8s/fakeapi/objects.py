"""Factories for Kubernetes objects shaped like a real cluster's (owner references, statuses,
container statuses with runtime ids, conditions), for the fake API server and for tests.

Every factory returns a plain dict (the API's JSON) with a fresh uid, so owner references can be
wired before the objects are created on the server (the server keeps a given uid).
"""

from __future__ import annotations

import datetime
import hashlib
import uuid


def _ts(when: datetime.datetime | None = None) -> str:
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(name: str, namespace: str | None, labels=None, annotations=None, owner=None,
          uid: str | None = None) -> dict:
    meta: dict = {"name": name, "uid": uid or str(uuid.uuid4()), "creationTimestamp": _ts()}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    return meta


def owner_ref(obj: dict, controller: bool = True) -> dict:
    """The ownerReference a controller puts on what it creates."""
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": controller, "blockOwnerDeletion": True}


def _short_hash(text: str, n: int = 10) -> str:
    # Deterministic, like the pod-template-hash a Deployment controller derives.
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256(text.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:n])


def namespace(name: str, labels=None, uid: str | None = None) -> dict:
    labels = {"kubernetes.io/metadata.name": name, **(labels or {})}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name, None, labels, uid=uid),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def node(name: str, ip: str = "192.168.0.10", labels=None, annotations=None, ready: bool = True,
         cpu: str = "4", memory: str = "16318480Ki", kubelet_port: int = 10250) -> dict:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": "m5.xlarge",
              **(labels or {})}
    now = _ts()
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": _meta(name, None, labels, annotations),
        "spec": {"podCIDR": "10.244.0.0/24", "providerID": f"aws:///us-east-1a/i-{_short_hash(name, 12)}"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "capacity": {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "83873772Ki"},
            "allocatable": {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "77298068Ki"},
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                 "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure",
                 "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
                 "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "Ready", "status": "True" if ready else "False",
                 "reason": "KubeletReady" if ready else "KubeletNotReady",
                 "lastHeartbeatTime": now, "lastTransitionTime": now},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
            "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.13",
                         "kernelVersion": "6.1.0-18-amd64", "kubeletVersion": "v1.30.0",
                         "kubeProxyVersion": "v1.30.0", "operatingSystem": "linux",
                         "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "machineID": _short_hash(name + "m", 32), "systemUUID": str(uuid.uuid4()),
                         "bootID": str(uuid.uuid4())},
        },
    }


def _container_spec(c) -> dict:
    if isinstance(c, dict):
        return c
    name, image = c
    return {"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                          "limits": {"cpu": "500m", "memory": "256Mi"}},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}


def pod(name: str, namespace: str = "default", node_name: str = "node-1", ip: str = "10.244.1.5",
        host_ip: str = "192.168.0.10", owner: dict | None = None, labels=None, annotations=None,
        containers=None, init_containers=None, phase: str = "Running", uid: str | None = None,
        start_time: str | None = None, restart_count: int = 0) -> dict:
    """A scheduled pod. containers: (name, image) pairs or full container dicts; running pods get
    containerStatuses with `containerd://<64 hex>` ids."""
    containers = [_container_spec(c) for c in (containers or [("app", "nginx:1.25.3")])]
    meta = _meta(name, namespace, labels, annotations, owner, uid)
    running = phase == "Running"
    started = start_time or _ts()
    statuses = []
    for c in containers:
        cid = hashlib.sha256((meta["uid"] + c["name"]).encode()).hexdigest()
        status = {"name": c["name"], "image": c["image"],
                  "imageID": "docker.io/library/" + c["image"].split(":")[0] + "@sha256:" +
                             hashlib.sha256(c["image"].encode()).hexdigest(),
                  "ready": running, "started": running, "restartCount": restart_count}
        if phase in ("Running", "Succeeded", "Failed"):
            status["containerID"] = f"containerd://{cid}"
        if running:
            status["state"] = {"running": {"startedAt": started}}
        elif phase == "Pending":
            status["state"] = {"waiting": {"reason": "ContainerCreating"}}
        else:
            status["state"] = {"terminated": {"exitCode": 0 if phase == "Succeeded" else 1,
                                              "reason": "Completed" if phase == "Succeeded" else "Error",
                                              "startedAt": started, "finishedAt": _ts()}}
        statuses.append(status)
    spec: dict = {"containers": containers, "nodeName": node_name, "restartPolicy": "Always",
                  "dnsPolicy": "ClusterFirst", "serviceAccountName": "default",
                  "schedulerName": "default-scheduler", "terminationGracePeriodSeconds": 30,
                  "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                   "effect": "NoExecute", "tolerationSeconds": 300}]}
    if init_containers:
        spec["initContainers"] = [_container_spec(c) for c in init_containers]
    status: dict = {"phase": phase, "hostIP": host_ip, "qosClass": "Burstable",
                    "conditions": [{"type": t, "status": "True" if running else "False",
                                    "lastTransitionTime": started}
                                   for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]}
    if phase != "Pending" or node_name:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
        status["hostIPs"] = [{"ip": host_ip}]
        status["startTime"] = started
        status["containerStatuses"] = statuses
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def _workload(api_version: str, kind: str, name: str, namespace: str, labels, owner=None,
              replicas: int | None = 1, template_labels=None, image: str = "nginx:1.25.3") -> dict:
    selector = template_labels or {"app": name}
    spec: dict = {"selector": {"matchLabels": dict(selector)},
                  "template": {"metadata": {"labels": dict(selector)},
                               "spec": {"containers": [_container_spec(("app", image))]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": api_version, "kind": kind,
            "metadata": _meta(name, namespace, labels or {"app": name}, None, owner), "spec": spec}


def deployment(name: str, namespace: str = "default", replicas: int = 1, labels=None,
               image: str = "nginx:1.25.3") -> dict:
    obj = _workload("apps/v1", "Deployment", name, namespace, labels, replicas=replicas, image=image)
    obj["metadata"]["generation"] = 1
    obj["spec"]["strategy"] = {"type": "RollingUpdate",
                               "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    obj["status"] = {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
                     "availableReplicas": replicas, "updatedReplicas": replicas,
                     "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}
    return obj


def replicaset(name: str | None = None, namespace: str = "default", deployment: dict | None = None,
               replicas: int = 1, image: str = "nginx:1.25.3") -> dict:
    """With `deployment`, named `<deployment>-<pod-template-hash>` and owned by it."""
    template_hash = _short_hash((deployment or {}).get("metadata", {}).get("uid", name or ""))
    if name is None:
        if deployment is None:
            raise ValueError("replicaset needs a name or a deployment")
        name = f"{deployment['metadata']['name']}-{template_hash}"
    app = deployment["metadata"]["name"] if deployment else name
    labels = {"app": app, "pod-template-hash": template_hash}
    obj = _workload("apps/v1", "ReplicaSet", name, namespace, labels, owner=deployment,
                    replicas=replicas, template_labels=labels, image=image)
    obj["status"] = {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                     "fullyLabeledReplicas": replicas, "observedGeneration": 1}
    return obj


def statefulset(name: str, namespace: str = "default", replicas: int = 1, image: str = "postgres:16.2") -> dict:
    obj = _workload("apps/v1", "StatefulSet", name, namespace, None, replicas=replicas, image=image)
    obj["spec"]["serviceName"] = name
    obj["status"] = {"replicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas,
                     "updatedReplicas": replicas, "observedGeneration": 1}
    return obj


def daemonset(name: str, namespace: str = "kube-system", nodes: int = 1, image: str = "fluent-bit:2.2") -> dict:
    obj = _workload("apps/v1", "DaemonSet", name, namespace, None, replicas=None, image=image)
    obj["status"] = {"currentNumberScheduled": nodes, "desiredNumberScheduled": nodes,
                     "numberAvailable": nodes, "numberReady": nodes, "numberMisscheduled": 0,
                     "updatedNumberScheduled": nodes, "observedGeneration": 1}
    return obj


def cronjob(name: str, namespace: str = "default", schedule: str = "*/5 * * * *") -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta(name, namespace, {"app": name}),
            "spec": {"schedule": schedule, "concurrencyPolicy": "Allow", "suspend": False,
                     "jobTemplate": {"spec": {"template": {"spec": {"containers": [
                         _container_spec(("job", "busybox:1.36"))], "restartPolicy": "OnFailure"}}}}},
            "status": {"lastScheduleTime": _ts()}}


def job(name: str | None = None, namespace: str = "default", cronjob: dict | None = None,
        succeeded: int = 0, active: int = 1) -> dict:
    """With `cronjob`, named `<cronjob>-<minutes>` and owned by it, as the CronJob controller does."""
    if name is None:
        if cronjob is None:
            raise ValueError("job needs a name or a cronjob")
        name = f"{cronjob['metadata']['name']}-{int(datetime.datetime.now().timestamp() // 60)}"
    obj = _workload("batch/v1", "Job", name, namespace, {"job-name": name}, owner=cronjob,
                    replicas=None, template_labels={"job-name": name}, image="busybox:1.36")
    obj["spec"].update({"completions": 1, "parallelism": 1, "backoffLimit": 6})
    obj["status"] = {"active": active, "succeeded": succeeded, "startTime": _ts()}
    return obj


def service(name: str, namespace: str = "default", cluster_ip: str = "10.96.0.10", port: int = 80) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, namespace, {"app": name}),
            "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "selector": {"app": name},
                     "ports": [{"name": "http", "port": port, "protocol": "TCP", "targetPort": port}]},
            "status": {"loadBalancer": {}}}


def hpa(name: str, namespace: str = "default", target: dict | None = None, min_replicas: int = 1,
        max_replicas: int = 5, current: int = 1) -> dict:
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    if target is not None:
        ref = {"apiVersion": target["apiVersion"], "kind": target["kind"], "name": target["metadata"]["name"]}
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": _meta(name, namespace),
            "spec": {"scaleTargetRef": ref, "minReplicas": min_replicas, "maxReplicas": max_replicas,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 80}}}]},
            "status": {"currentReplicas": current, "desiredReplicas": current}}


def core_event(involved: dict, reason: str = "Scheduled", message: str = "Successfully assigned",
               type_: str = "Normal", count: int = 1, name: str | None = None) -> dict:
    """A core/v1 Event about `involved` (a pod, node...)."""
    ns = involved["metadata"].get("namespace", "default")
    name = name or f"{involved['metadata']['name']}.{uuid.uuid4().hex[:16]}"
    now = _ts()
    return {"apiVersion": "v1", "kind": "Event", "metadata": _meta(name, ns),
            "involvedObject": {"apiVersion": involved["apiVersion"], "kind": involved["kind"],
                               "name": involved["metadata"]["name"], "namespace": ns,
                               "uid": involved["metadata"]["uid"]},
            "reason": reason, "message": message, "type": type_, "count": count,
            "source": {"component": "default-scheduler"}, "firstTimestamp": now, "lastTimestamp": now,
            "eventTime": None, "reportingComponent": "", "reportingInstance": ""}


def events_v1_event(regarding: dict, reason: str = "Scheduled", note: str = "Successfully assigned",
                    type_: str = "Normal", event_time: str | None = None) -> dict:
    """An events.k8s.io/v1 Event; `eventTime` may be null as in real clusters (it breaks the
    client's typed models, which is why we read raw JSON)."""
    ns = regarding["metadata"].get("namespace", "default")
    name = f"{regarding['metadata']['name']}.{uuid.uuid4().hex[:16]}"
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": _meta(name, ns),
            "eventTime": event_time, "reason": reason, "note": note, "type": type_,
            "action": "Binding", "reportingController": "default-scheduler",
            "reportingInstance": "default-scheduler-node-1",
            "regarding": {"apiVersion": regarding["apiVersion"], "kind": regarding["kind"],
                          "name": regarding["metadata"]["name"], "namespace": ns,
                          "uid": regarding["metadata"]["uid"]},
            "deprecatedFirstTimestamp": _ts(), "deprecatedLastTimestamp": _ts(), "deprecatedCount": 1}


def lease(name: str, namespace: str = "default", holder: str | None = None,
          lease_duration_seconds: int = 15) -> dict:
    spec: dict = {"leaseDurationSeconds": lease_duration_seconds}
    if holder:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        spec.update({"holderIdentity": holder, "acquireTime": now, "renewTime": now, "leaseTransitions": 0})
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": _meta(name, namespace), "spec": spec}


def instrumentation(name: str = "skuber-instrumentation", namespace: str = "default",
                    endpoint: str = "http://otel-gateway:4317") -> dict:
    """An opentelemetry.io/v1alpha1 Instrumentation (the operator's CRD)."""
    return {"apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": _meta(name, namespace),
            "spec": {"exporter": {"endpoint": endpoint},
                     "propagators": ["tracecontext", "baggage"],
                     "sampler": {"type": "parentbased_traceidratio", "argument": "1"},
                     "java": {"image": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-java:2.3.0"},
                     "python": {"image": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-python:0.45b0"}}}


def deployment_with_pods(name: str, namespace: str = "default", replicas: int = 2, node_name: str = "node-1",
                         first_ip: tuple[int, int] = (1, 10), image: str = "nginx:1.25.3") -> list[dict]:
    """[deployment, replicaset, pod...]: a Deployment's full ownership chain."""
    dep = deployment(name, namespace, replicas, image=image)
    rs = replicaset(namespace=namespace, deployment=dep, replicas=replicas, image=image)
    rs_labels = rs["metadata"]["labels"]
    pods = [pod(f"{rs['metadata']['name']}-{_short_hash(rs['metadata']['uid'] + str(i), 5)}", namespace,
                node_name, f"10.244.{first_ip[0]}.{first_ip[1] + i}", owner=rs, labels=rs_labels,
                containers=[("app", image)])
            for i in range(replicas)]
    return [dep, rs, *pods]
