"""The controllers the controller-manager can run, by the names `--controllers` takes.

Each entry names a class by module path, imported only when chosen, so a controller-manager
started with `--controllers endpoints` loads nothing else. `main.py` is the process around them.
"""

from __future__ import annotations

import importlib

from minik8s.controllers.common.context import ControllerFactory

ROOT_CA_PUBLISHER = "root-ca-cert-publisher"  # runs only with --root-ca-file (the CA it publishes)
# name -> "module:Class"; each class takes a ControllerContext and has `name` and `async run()`.
CONTROLLERS: dict[str, str] = {
    "replicaset": "minik8s.controllers.replicaset.controller:ReplicaSetController",
    "deployment": "minik8s.controllers.deployment.controller:DeploymentController",
    "daemonset": "minik8s.controllers.daemonset.controller:DaemonSetController",
    "statefulset": "minik8s.controllers.statefulset.controller:StatefulSetController",
    "endpoints": "minik8s.controllers.endpoints.controller:EndpointsController",
    "nodelifecycle": "minik8s.controllers.node_lifecycle.controller:NodeLifecycleController",
    "nodeipam": "minik8s.controllers.node_ipam.controller:NodeIpamController",
    "namespace": "minik8s.controllers.namespace.controller:NamespaceController",
    "serviceaccount": "minik8s.controllers.serviceaccount.controller:ServiceAccountController",
    "garbagecollector": "minik8s.controllers.garbage_collector.controller:GarbageCollector",
    "resourcequota": "minik8s.controllers.resourcequota.controller:ResourceQuotaController",
    "disruption": "minik8s.controllers.disruption.controller:DisruptionController",
    "clusterrole-aggregation":
        "minik8s.controllers.clusterrole_aggregation.controller:ClusterRoleAggregationController",
    ROOT_CA_PUBLISHER: "minik8s.controllers.root_ca_publisher.controller:RootCaPublisher",
    "persistentvolume-binder": "minik8s.controllers.persistentvolume.controller:PersistentVolumeBinder",
    "local-path-provisioner": "minik8s.controllers.local_path_provisioner.controller:LocalPathProvisioner",
    "pvc-protection": "minik8s.controllers.volume_protection.controller:ClaimProtectionController",
    "pv-protection": "minik8s.controllers.volume_protection.controller:VolumeProtectionController",
    "job": "minik8s.controllers.job.controller:JobController",
    "cronjob": "minik8s.controllers.cronjob.controller:CronJobController",
    "ttl-after-finished": "minik8s.controllers.ttl_after_finished.controller:TtlAfterFinishedController",
}


def load_controllers(names: list[str]) -> list[ControllerFactory]:
    factories: list[ControllerFactory] = []
    for name in names:
        module_name, _, class_name = CONTROLLERS[name].partition(":")
        factories.append(getattr(importlib.import_module(module_name), class_name))
    return factories
