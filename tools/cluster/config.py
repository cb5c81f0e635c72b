"""The configuration of `make cluster`'s node (tools/cluster/node.py runs it): a real single-node cluster on this
machine, the control plane of tools/cluster/control_plane.py plus containerd (Debian's 1.6), runc, the CNI bridge
plugins, kubelet and kube-proxy (built from tools/k8s_api/go.mod).

Why each setting is what it is (docs/kubernetes.md, "A real node", lists them with what was measured):
- cgroup v1 with no systemd as init: kubelet and runc use the cgroupfs driver; kubelet 1.35+ refuses cgroup v1 unless
  ``failCgroupV1: false``. The node's cgroups live under ``/brook`` in each v1 hierarchy (kubelet's ``cgroupRoot``),
  made here and removed by ``down``, so nothing else's cgroups are touched.
- The VM withholds CAP_SYS_RESOURCE: containerd may not lower a container's oom_score_adj below its own
  (``restrict_oom_score_adj``), kube-proxy keeps its own (``oomScoreAdj: 0``).
- No registry and no pulls: the one image (tools/cluster/image.py) is imported into containerd and is also the pod
  sandbox image; kubelet's image garbage collection is off (high threshold 100%).
- Networking: a bridge ``brook0`` with a private /24 used only on this machine. Its first address is also the node's
  IP, so kubelet listens there and nowhere else routable; no masquerading (pods reach only local addresses).
- Every path is explicit and under $BROOK_HOME/cluster (containerd root/state/socket, runc root, CNI config and IPAM
  state, kubelet root, pod logs, certificates, etcd); /etc is not read for any of it.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from pathlib import Path

from tools.cluster import image
from tools.cluster.control_plane import LOOPBACK, SERVICE_CIDR, free_port
from tools.versions import brook_home

NODE_NAME = "brook-node"
BRIDGE = "brook0"
POD_CIDR = "10.217.0.0/24"
NODE_IP = "10.217.0.1"  # the bridge's address: the pods' gateway and the node's InternalIP
CNI_NETWORK = "brook-pods"
CNI_BIN = Path("/usr/lib/cni")
CGROUP_V1 = Path("/sys/fs/cgroup")
CGROUP_ROOT = "brook"  # kubelet's cgroupRoot, one directory in each v1 hierarchy
REQUIRED_CGROUPS = ("cpu", "cpuacct", "cpuset", "memory", "pids")
PACKAGES = {
    "containerd": "/usr/bin/containerd",
    "runc": "/usr/sbin/runc",
    "containernetworking-plugins": "/usr/lib/cni/bridge",
}
KUBELET_PORT = 10250
# Cluster DNS: CoreDNS (tools/coredns, `make cluster-dns-bin`) as a host process on the bridge address, port 53, the
# pods' only nameserver (kubelet clusterDNS); it answers for the cluster domain only (no forwarding).
CLUSTER_DOMAIN = "cluster.local"
DNS_PORT = 53


@dataclass(frozen=True)
class Layout:
    """Every path the cluster uses, under one directory."""

    base: Path

    @classmethod
    def default(cls) -> Layout:
        return cls(brook_home() / "cluster")

    @property
    def state(self) -> Path:
        return self.base / "state.json"

    @property
    def logs(self) -> Path:
        return self.base / "logs"

    @property
    def plane(self) -> Path:
        return self.base / "control-plane"

    @property
    def containerd(self) -> Path:
        return self.base / "containerd"

    @property
    def socket(self) -> Path:
        return self.containerd / "containerd.sock"

    @property
    def cni(self) -> Path:
        return self.base / "cni"

    @property
    def kubelet(self) -> Path:
        return self.base / "kubelet"

    @property
    def proxy(self) -> Path:
        return self.base / "kube-proxy"

    @property
    def image(self) -> Path:
        return self.base / "image"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.plane / "admin.kubeconfig"


# --- configuration files --------------------------------------------------------------------------------------------
def containerd_config(layout: Layout) -> str:
    """containerd 1.6's config (version 2 schema): every directory explicit, the CRI plugin for kubelet."""
    cri = '[plugins."io.containerd.grpc.v1.cri"]'
    return f"""version = 2
root = "{layout.containerd / "root"}"
state = "{layout.containerd / "state"}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{layout.socket}"

[ttrpc]
  address = "{layout.socket}.ttrpc"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "{layout.containerd / "opt"}"
  {cri}
    sandbox_image = "{image.IMAGE}"
    # No CAP_SYS_RESOURCE here: a container's oom_score_adj may not go below containerd's own.
    restrict_oom_score_adj = true
    # hugetlb is not mounted on this machine's cgroup v1 hierarchy.
    disable_hugetlb_controller = true
    tolerate_missing_hugetlb_controller = true
    disable_apparmor = true
    enable_selinux = false
    stream_server_address = "{LOOPBACK}"
    stream_server_port = "0"
    # Pods' network namespaces under state (not /run/netns): removed with it.
    netns_mounts_under_state_dir = true
    {cri[:-1]}.containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      {cri[:-1]}.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        {cri[:-1]}.containerd.runtimes.runc.options]
          BinaryName = "{PACKAGES["runc"]}"
          Root = "{layout.containerd / "runc"}"
          SystemdCgroup = false
    {cri[:-1]}.cni]
      bin_dir = "{CNI_BIN}"
      conf_dir = "{layout.cni / "net.d"}"
      max_conf_num = 1
"""


def cni_config(layout: Layout) -> dict:
    """bridge + host-local IPAM (state under $BROOK_HOME) + portmap; containerd adds loopback itself."""
    return {
        "cniVersion": "0.4.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,  # pods talk to this machine only: no NAT to the outside
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                    # Service addresses through the bridge, where kube-proxy's rules translate them; no default
                    # route, so a pod reaches nothing but this machine and the pods (as measured before: a pod's
                    # connect to a ClusterIP without it failed with "Network is unreachable").
                    "routes": [{"dst": SERVICE_CIDR, "gw": NODE_IP}],
                    "dataDir": str(layout.cni / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config(layout: Layout, ca: Path, healthz_port: int) -> dict:
    """KubeletConfiguration v1beta1: cgroupfs on cgroup v1, no image GC, the API only on the node IP, x509 only."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": LOOPBACK,
        "healthzPort": healthz_port,
        # Only certificates of the cluster's CA (the API server's kubelet client, the admin): no anonymous, no tokens.
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(ca)},
        },
        "authorization": {"mode": "AlwaysAllow"},
        # No CAP_SYS_RESOURCE: kubelet may neither raise its open-files limit above the hard limit (its default is
        # 1000000; 20000 here) nor lower its oom_score_adj (default -999).
        "maxOpenFiles": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
        "oomScoreAdj": 0,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{CGROUP_ROOT}",
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{layout.socket}",
        "imageServiceEndpoint": f"unix://{layout.socket}",
        # Images are imported, never pulled: never collect them (100% disables image GC).
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "podLogsDir": str(layout.kubelet / "pod-logs"),
        "volumePluginDir": str(layout.kubelet / "volume-plugins"),
        "resolvConf": "",  # the host's resolvers are not the pods' business: only the cluster DNS below
        "clusterDNS": [NODE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "registerNode": True,
        "serializeImagePulls": True,
        "maxPods": 30,
    }  # fmt: skip


def corefile(kubeconfig: Path, ready_port: int) -> str:
    """CoreDNS's configuration: the cluster domain and the reverse zones from the API server (kubeconfig), on the
    bridge address only; `ready` (on loopback) answers 200 once the kubernetes plugin has synced. Any other name is
    refused: there is no server block for ".", so nothing is forwarded off this machine."""
    return f"""{CLUSTER_DOMAIN}:{DNS_PORT} in-addr.arpa:{DNS_PORT} ip6.arpa:{DNS_PORT} {{
    bind {NODE_IP}
    ready {LOOPBACK}:{ready_port}
    errors
    cache 5
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
    }}
}}
"""


def kube_proxy_config(kubeconfig: Path) -> dict:
    """KubeProxyConfiguration v1alpha1: iptables mode (no IPVS here), leaves conntrack sysctls and its oom score."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "bindAddress": NODE_IP,
        "healthzBindAddress": f"{LOOPBACK}:{free_port()}",
        "metricsBindAddress": f"{LOOPBACK}:{free_port()}",
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "iptables": {"localhostNodePorts": False},
        "oomScoreAdj": 0,  # its default -999 needs CAP_SYS_RESOURCE
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def node_certs() -> dict[str, tuple[str, str]]:
    """The node's client certificates, signed by the control plane's CA (tools/cluster/control_plane.make_pki)."""
    client = "extendedKeyUsage=clientAuth"
    return {
        # The Node authorizer and NodeRestriction know a kubelet by this name and group.
        "kubelet": (f"/O=system:nodes/CN=system:node:{NODE_NAME}", client),
        # Bootstrap RBAC binds system:node-proxier to this user.
        "kube-proxy": ("/CN=system:kube-proxy", client),
        # The API server's identity at the kubelet (logs, exec, port-forward).
        "apiserver-kubelet-client": ("/CN=kube-apiserver-kubelet-client", client),
    }
