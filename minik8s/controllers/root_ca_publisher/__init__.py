"""The root CA publisher: every namespace has the `kube-root-ca.crt` ConfigMap holding the cluster CA."""
