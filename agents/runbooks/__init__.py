"""Runbooks as data: the allowlist of fixes, each with its parameters, command and checks.

`catalog.py` reads `ops/runbooks/index.toml` (pure data once read); `params.py` decides
the parameters of a proposal from the incident alone. Nothing here runs anything: the
executor stage (`agents/executor/`) does, after a person approved.
"""
