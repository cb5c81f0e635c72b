"""A real single-node Kubernetes cluster on this machine (`make cluster`): tools/cluster/node.py."""
