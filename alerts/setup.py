"""Everything alerting needs from the settings: the rules, the targets, the console's
address. Read once at start, so a bad rules file or alert URL stops the service there."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from alerts.notify import Target, targets
from alerts.rules import AlertRules, load_rules
from threadline.settings import Settings


class AlertSetup(BaseModel):
    """The rules, where alerts go, and the console address their messages link to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: AlertRules = Field(default_factory=load_rules)
    targets: tuple[Target, ...] = ()
    console_url: str = "http://127.0.0.1:8501"

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertSetup:
        """The setup the settings describe; raises ``AlertRulesError`` or
        ``AlertTargetError`` naming what is wrong."""
        return cls(
            rules=load_rules(settings.alert_rules_file),
            targets=targets(
                settings.alert_urls.get_secret_value() if settings.alert_urls else None
            ),
            console_url=settings.console_url,
        )

    def where(self) -> str:
        """Where alerts go, in words (no secrets)."""
        if not self.targets:
            return "the Alerts page only"
        return ", ".join(t.label for t in self.targets) + " and the Alerts page"
