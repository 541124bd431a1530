"""Configuration of approvals and human actions (section `[approvals]`, `LOGWARDEN_APPROVALS__*`).

Secrets are `SecretStr`: never printed, logged or put into a page.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["ApprovalsConfig"]


class ApprovalsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    link_secret: SecretStr = Field(SecretStr(""),
        description=("HMAC key of the signed approve/escalate links. Empty: notifications carry no "
                     "links (approve with the CLI, the HTTP API, Slack buttons or the console page)."))
    link_ttl_s: float = Field(3600.0, gt=0, le=7 * 86400,
        description=("A link stops working this long after it was made (and once the proposal is "
                     "decided)."))
    public_url: str = Field("http://127.0.0.1:6066", pattern=r"^https?://[^\s]+$",
        description=("Base URL people reach this worker's web server at; links and the console use it."))
    api_tokens: dict[str, SecretStr] = Field(default_factory=dict,
        description=("Bearer tokens for POST /approvals/{id}, POST /incidents/{id}/actions and the "
                     "console page (name -> token; the caller is `http:<name>`). Signed links need none: "
                     "the signature is their credential. Empty: only loopback callers are served "
                     "(development; `logwarden up` binds to 127.0.0.1)."))
    approvers: list[str] = Field(default_factory=list, description="Who may approve or escalate (\"slack:U123\", \"cli:alice\", \"http:<token name>\", \"link\"). Empty: anyone who can reach a way to decide.")
    second_approver_for_p1: bool = Field(False,
        description=("P1 incidents need two different approvers before anything runs."))
    proposal_ttl_s: float = Field(3600.0, gt=0,
        description=("A proposal nobody decided on expires after this long (event time)."))
    slack_signing_secret: SecretStr = Field(SecretStr(""),
        description=("Slack app signing secret (interactive buttons); empty: Slack buttons are "
                     "refused."))
    slack_max_age_s: float = Field(300.0, gt=0, le=3600,
        description=("Slack's replay window for X-Slack-Request-Timestamp (their documented 5 "
                     "minutes)."))
