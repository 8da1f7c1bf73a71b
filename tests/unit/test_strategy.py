"""Write-path rules of the apiserver that need no server."""

from __future__ import annotations

from minik8s.api.defaults import apply_defaults
from minik8s.apiserver.strategy import set_default_toleration_seconds


def test_default_toleration_seconds_are_configurable_but_a_pods_own_tolerations_are_kept() -> None:
    own = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
           "tolerationSeconds": 7}
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}], "tolerations": [own]}}
    given = list(pod["spec"]["tolerations"])  # type: ignore[index]
    apply_defaults("Pod", pod)
    set_default_toleration_seconds(pod, {"node.kubernetes.io/not-ready": 2, "node.kubernetes.io/unreachable": 3},
                                   given=given)
    seconds = {t["key"]: t["tolerationSeconds"] for t in pod["spec"]["tolerations"]}  # type: ignore[index]
    assert seconds == {"node.kubernetes.io/unreachable": 7, "node.kubernetes.io/not-ready": 2}
