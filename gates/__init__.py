"""gates: supply-chain gates for pipelines that ship containers to Kubernetes."""

__version__ = "0.1.0"
