"""Small lookups over a rendered manifest, shared by the per-pipeline chart tests."""

from __future__ import annotations


def one(objs: list[dict], kind: str, name: str) -> dict:
    """The single object of ``kind`` named ``name`` (fails if there are none or several)."""
    [found] = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def component(name: str) -> dict[str, str]:
    """The labels of a Brook pod of component ``name`` (what NetworkPolicy peers select)."""
    return {"app.kubernetes.io/component": name, "app.kubernetes.io/part-of": "brook"}


def cnpg(cluster: str) -> dict[str, str]:
    """The labels CloudNativePG puts on an instance pod of ``cluster``."""
    return {"cnpg.io/cluster": cluster, "cnpg.io/podRole": "instance"}
