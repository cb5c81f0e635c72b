"""kubeconform schemas, offline: Kubernetes' own (kubernetes-validate) and the operators' CRDs converted."""
