"""One ApiClient serves all of a receiver's informers; each watch holds a connection, so the
client's urllib3 pool (cpu_count * 5 by default) must hold them all, or every returned
connection beyond it is discarded with a warning and reopened."""
from __future__ import annotations


def widen_connection_pool(api_client, connections: int) -> None:
    pool_manager = getattr(getattr(api_client, "rest_client", None), "pool_manager", None)
    kw = getattr(pool_manager, "connection_pool_kw", None)
    if isinstance(kw, dict) and kw.get("maxsize", 1) < connections:
        kw["maxsize"] = connections  # applies to pools created from now on (lazily, per host)
