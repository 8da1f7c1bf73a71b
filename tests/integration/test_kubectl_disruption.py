"""The real kubectl (v1.32) with PodDisruptionBudgets and PriorityClasses: `create pdb` and `create priorityclass`
(protobuf bodies), `get` with kubectl's columns, `describe`, and a pod created with a class, against an
in-process apiserver."""

from __future__ import annotations

from pathlib import Path

from tests.support.kubectl import Kubectl


def columns(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_create_get_and_describe_a_pdb(kubectl: Kubectl) -> None:
    created = kubectl("create", "pdb", "web", "--selector=app=web", "--min-available=2")
    assert created.stdout.strip() == "poddisruptionbudget.policy/web created"
    assert kubectl("create", "pdb", "db", "--selector=app=db", "--max-unavailable=25%").returncode == 0
    table = columns(kubectl("get", "pdb").stdout)
    assert table[0] == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert [row[:4] for row in table[1:]] == [["db", "N/A", "25%", "0"], ["web", "2", "N/A", "0"]]
    described = kubectl("describe", "pdb", "web").stdout
    assert [line.split(":", 1)[0].strip() for line in described.splitlines()[:9]] == [
        "Name", "Namespace", "Min available", "Selector", "Status", "Allowed disruptions", "Current", "Desired",
        "Total"]
    assert "app=web" in described.splitlines()[3]
    invalid = kubectl("create", "pdb", "both", "--selector=app=x", "--min-available=1", "--max-unavailable=1",
                      check=False)
    assert invalid.returncode != 0  # kubectl itself refuses both bounds


def test_create_a_priority_class_and_a_pod_that_names_it(kubectl: Kubectl, tmp_path: Path) -> None:
    created = kubectl("create", "priorityclass", "high", "--value=1000", "--description=urgent work",
                      "--preemption-policy=Never")
    assert created.stdout.strip() == "priorityclass.scheduling.k8s.io/high created"
    table = columns(kubectl("get", "pc").stdout)
    assert table[0] == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    rows = {row[0]: row for row in table[1:]}
    assert rows["high"][1:3] == ["1000", "false"] and rows["high"][-1] == "Never"
    assert rows["system-node-critical"][1:3] == ["2000001000", "false"]
    assert rows["system-cluster-critical"][-1] == "PreemptLowerPriority"
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: urgent\nspec:\n  priorityClassName: high\n"
                        "  containers:\n  - name: c\n    image: busybox\n")
    kubectl("apply", "-f", str(manifest))
    spec = kubectl("get", "pod", "urgent", "-o", "jsonpath={.spec.priority} {.spec.preemptionPolicy}").stdout
    assert spec == "1000 Never"
    refused = kubectl("run", "gold", "--image=busybox", "--overrides",
                      '{"spec": {"priorityClassName": "gold"}}', check=False)
    assert refused.returncode == 1
    assert ('Error from server (Forbidden): pods "gold" is forbidden: no PriorityClass with name gold was found'
            in refused.stderr)
    deleted = kubectl("delete", "priorityclass", "system-cluster-critical", check=False)
    assert "this is a system priority class and cannot be deleted" in deleted.stderr
