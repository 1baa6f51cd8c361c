"""The manifest gate: Pod Security Standards over Kubernetes YAML and JSON."""
