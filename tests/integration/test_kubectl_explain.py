"""The real kubectl (v1.32) reads the apiserver's OpenAPI: `explain` and client-side validation of `apply`."""

from __future__ import annotations

from pathlib import Path

from tests.support.kubectl import Kubectl


def test_explain_describes_a_kind_and_its_nested_fields(kubectl: Kubectl) -> None:
    pods = kubectl("explain", "pods").stdout
    assert "KIND:       Pod" in pods and "VERSION:    v1" in pods
    assert "spec\t<PodSpec>" in pods and "status\t<PodStatus>" in pods
    containers = kubectl("explain", "pod.spec.containers").stdout
    assert "FIELD: containers <[]Container>" in containers
    assert "image\t<string>\n    The image to run." in containers and "ports\t<[]Object>" in containers
    assert "name\t<string> -required-" in containers
    deployment = kubectl("explain", "deployment.spec.strategy", "--api-version", "apps/v1").stdout
    assert "GROUP:      apps" in deployment and "rollingUpdate\t<Object>" in deployment
    assert "enum: RollingUpdate, Recreate" in deployment


def test_explain_of_an_unknown_field_names_it(kubectl: Kubectl) -> None:
    result = kubectl("explain", "pod.spec.nonsense", check=False)
    assert result.returncode != 0
    assert 'field "nonsense" does not exist' in result.stderr


def test_apply_validates_against_the_schema_before_sending(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo}\ndatta: {a: b}\n")
    result = kubectl("apply", "-f", str(manifest), check=False)
    assert result.returncode != 0
    assert 'unknown field "datta"' in result.stderr
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\ndata: {a: b}\n")
    applied = kubectl("apply", "-f", str(manifest))
    assert applied.stdout.strip() == "configmap/fine created" and applied.stderr == ""
