#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The pod podman can play from deploy/kubernetes: podman 4.3 plays Pods and
Deployments but not DaemonSets, so this takes the DaemonSet's pod template
as it is and changes only what a node would provide differently here:

  kube.py DAEMONSET NAME IMAGE BPFFS POLICY_DIR > pod.yaml

the image (the one `make image` built), the bpffs (a private one, not the
host's /sys/fs/bpf) and the policy volume: a directory this test updates the
way kubelet updates a ConfigMap volume, since podman never updates one.
podman 4.3 reads a container's seccomp profile only from the annotation
Kubernetes used before securityContext.seccompProfile: it is copied there."""
import sys

import yaml

ds_path, name, image, bpffs, policy_dir = sys.argv[1:6]
with open(ds_path) as f:
    ds = yaml.safe_load(f)
assert ds["kind"] == "DaemonSet", ds["kind"]
tmpl = ds["spec"]["template"]
spec = tmpl["spec"]
annotations = {}
for c in spec["containers"]:
    c["image"] = image
    c["imagePullPolicy"] = "Never"
    prof = c.get("securityContext", {}).get("seccompProfile", {}).get("type")
    if prof == "Unconfined":
        annotations["container.seccomp.security.alpha.kubernetes.io/" + c["name"]] = "unconfined"
for v in spec["volumes"]:
    if v["name"] == "bpffs":
        v["hostPath"]["path"] = bpffs
    elif "configMap" in v:
        del v["configMap"]
        v["hostPath"] = {"path": policy_dir, "type": "Directory"}
pod = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": name, "labels": tmpl["metadata"]["labels"],
                 "annotations": annotations},
    "spec": spec,
}
yaml.safe_dump(pod, sys.stdout, sort_keys=False)
