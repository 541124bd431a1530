"""Ways a person decides on a proposed fix or acts on an incident (ops/APPROVALS.md).

Signed links, Slack interactive buttons, the CLI, the authenticated HTTP API and the
console page all end in the same records (`approvals`, `incidents.actions`); the
incident reducer alone decides what a decision does.
"""
