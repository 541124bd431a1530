"""The executor stage: runs approved runbooks once each, bounded, audited (ops/APPROVALS.md).

`plan.py` decides what an order may run (the catalog again, the parameters again),
`journal.py` makes it at most once per approval id across crashes, `process.py` runs
one argv, `run.py` ties them into the `started`/`executed` reports, `agent.py` is the
thin shell. Must never run a shell, a command outside the catalog, or an approval twice.
"""
