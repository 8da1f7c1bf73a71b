"""The StatefulSet controller: pods with stable names, DNS names and claims, made, replaced and rolled in order."""
