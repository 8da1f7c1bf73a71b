"""`rollout status|history|undo` of a StatefulSet: what kubectl reads and writes for one.

A StatefulSet's history is its ControllerRevisions (those it controls among the ones its selector
matches), numbered by `revision`, each holding the patch that restores a template. kubectl's
StatefulSetStatusViewer words the status (`Waiting for 2 pods to be ready...`, `partitioned roll
out complete: 3 new pods have been updated...`, and refuses OnDelete sets); its
StatefulSetRollbacker sends the chosen revision's data back as a strategic merge patch. These are
the same rules, pure where they can be, so the verbs in verbs_rollout.py only fetch and print.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from minik8s.api.kinds import CONTROLLER_REVISIONS, STATEFUL_SETS
from minik8s.api.meta import JsonObject, metadata_of, spec_of, status_of
from minik8s.api.selectors import SelectorError, label_selector_from_object
from minik8s.cli.describe_text import DescribeWriter, write_pod_template
from minik8s.cli.kubeconfig_context import Session
from minik8s.cli.resources import fail
from minik8s.cli.tabwriter import DESCRIBE_MIN_WIDTH, DESCRIBE_PADDING, align

CHANGE_CAUSE = "kubernetes.io/change-cause"


def status_message(stateful_set: Mapping[str, Any]) -> tuple[str, bool]:
    """StatefulSetStatusViewer.Status: the line to print and whether the rollout is done."""
    metadata, spec, status = metadata_of(stateful_set), spec_of(stateful_set), status_of(stateful_set)
    strategy = spec.get("updateStrategy") or {}
    if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
        raise fail("error: rollout status is only available for RollingUpdate strategy type")
    observed = int(status.get("observedGeneration") or 0)
    if observed == 0 or int(metadata.get("generation") or 0) > observed:
        return "Waiting for statefulset spec update to be observed...", False
    replicas, ready = int(spec.get("replicas", 1)), int(status.get("readyReplicas") or 0)
    if ready < replicas:
        return f"Waiting for {replicas - ready} pods to be ready...", False
    updated = int(status.get("updatedReplicas") or 0)
    rolling = strategy.get("rollingUpdate")
    if isinstance(rolling, Mapping):
        partition = rolling.get("partition")
        if partition is not None and updated < replicas - int(partition):
            return (f"Waiting for partitioned roll out to finish: {updated} out of {replicas - int(partition)} new "
                    "pods have been updated..."), False
        return f"partitioned roll out complete: {updated} new pods have been updated...", True
    if status.get("updateRevision") != status.get("currentRevision"):
        return (f"waiting for statefulset rolling update to complete {updated} pods at revision "
                f"{status.get('updateRevision') or ''}..."), False
    return (f"statefulset rolling update complete {int(status.get('currentReplicas') or 0)} pods at revision "
            f"{status.get('currentRevision') or ''}..."), True


async def controlled_revisions(session: Session, stateful_set: JsonObject) -> list[JsonObject]:
    """controlledHistories: the ControllerRevisions the set's selector matches and the set controls."""
    try:
        selector = str(label_selector_from_object(spec_of(stateful_set).get("selector")))
    except SelectorError as error:
        raise fail(f"error: invalid selector of statefulset: {error}") from None
    listing = await session.client.list(CONTROLLER_REVISIONS, namespace=metadata_of(stateful_set).get("namespace"),
                                        label_selector=selector or None)
    uid = metadata_of(stateful_set).get("uid")
    return [revision for revision in listing.get("items") or []
            if any(owner.get("controller") and owner.get("uid") == uid
                   for owner in metadata_of(revision).get("ownerReferences") or [])]


def by_number(revisions: Sequence[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    """The revisions by their number (the last of a number wins, as kubectl's map does)."""
    return {int(revision.get("revision") or 0): revision for revision in revisions}


def history_table(revisions: Sequence[Mapping[str, Any]]) -> str:
    """printHistory: REVISION / CHANGE-CAUSE (the revision's change-cause annotation), or no history."""
    numbered = by_number(revisions)
    if not numbered:
        return "No rollout history found."
    rows = "".join(f"{number}\t{(metadata_of(numbered[number]).get('annotations') or {}).get(CHANGE_CAUSE) or '<none>'}\n"
                   for number in sorted(numbered))
    return align("REVISION\tCHANGE-CAUSE\n" + rows, min_width=DESCRIBE_MIN_WIDTH, padding=DESCRIBE_PADDING)


def revision_template(revision: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod template a revision restores (its patch's spec.template without the directive)."""
    template = dict((((revision.get("data") or {}).get("spec") or {}).get("template")) or {})
    template.pop("$patch", None)
    return template


def choose_revision(revisions: Sequence[Mapping[str, Any]], to_revision: int) -> tuple[Mapping[str, Any], int]:
    """StatefulSetRollbacker's findHistory: `to_revision`, or (0) the one before the newest."""
    if to_revision < 0:
        raise fail(f"error: unable to find specified revision {to_revision} in history")
    numbered = by_number(revisions)
    if to_revision == 0:
        if len(numbered) <= 1:
            raise fail("error: no last revision to roll back to")
        previous = sorted(numbered)[-2]
        return numbered[previous], previous
    if to_revision not in numbered:
        raise fail(f"error: unable to find specified revision {to_revision} in history")
    return numbered[to_revision], to_revision


def template_matches(stateful_set: Mapping[str, Any], revision: Mapping[str, Any]) -> bool:
    """statefulsetMatch: the set already runs the revision's template."""
    return dict(spec_of(stateful_set).get("template") or {}) == revision_template(revision)


async def history_text(session: Session, name: str, revision: int, *, label: str) -> str:
    """`rollout history statefulset/NAME [--revision N]`: the table, or one revision's pod template."""
    stateful_set = await session.client.get(STATEFUL_SETS, name, namespace=session.namespace)
    revisions = await controlled_revisions(session, stateful_set)
    if not revision:
        return f"{label} \n{history_table(revisions)}\n"
    chosen = by_number(revisions).get(revision)
    if chosen is None:
        raise fail("error: unable to find the specified revision")
    writer = DescribeWriter()
    write_pod_template(writer, revision_template(chosen))
    return f"{label} with revision #{revision}\n{writer.text()}"


async def undo(session: Session, name: str, to_revision: int, *, label: str) -> str:
    """`rollout undo statefulset/NAME`: send the chosen revision's data back (a strategic merge patch)."""
    stateful_set = await session.client.get(STATEFUL_SETS, name, namespace=session.namespace)
    chosen, number = choose_revision(await controlled_revisions(session, stateful_set), to_revision)
    if template_matches(stateful_set, chosen):
        return f"{label} skipped rollback (current template already matches revision {number})"
    await session.client.patch(STATEFUL_SETS, name, dict(chosen.get("data") or {}), namespace=session.namespace,
                               patch_type="strategic")
    return f"{label} rolled back"
