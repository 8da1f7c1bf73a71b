"""Pod Security Standards: Kubernetes' privileged, baseline and restricted levels for pods.

A pure port of k8s.io/pod-security-admission (v1.32): `levels` reads a namespace's
`pod-security.kubernetes.io/*` labels into a policy, `checks_baseline` and `checks_restricted` are
the checks with Kubernetes' exact wording, `registry` picks and orders them per level and policy
version, and `admission` decides what the PodSecurity admission plugin does with a pod, a pod
template or a namespace. The apiserver's plugin (apiserver/admission_pod_security.py) supplies the namespace
and its pods and turns a decision into a response.
"""
