"""The executor stage: runs approved runbooks once each, bounded, audited (ops/APPROVALS.md)."""
