"""surgeplan: keep a telecom network and its services running through a demand shock.

Layers (lower layers never import higher ones)::

    teletraffic  -> pure queueing / loss formulas (Erlang B, C, A, Engset, link sizing)
    signals      -> crisis indicators (OxCGRT, OWID, generic), lockdown dates, anticipation
    store        -> DuckDB file, atomic validated ingest, exports
    simulate     -> shock-aware synthetic load for any inventory
    forecast     -> seasonal baseline x indicator-driven shock response, quantiles
    dimension    -> capacity each resource needs for its grade of service
    plan         -> actions, order-by dates, costs, priorities, alerts
    cli          -> thin Typer shell
"""

__version__ = "0.1.0"
