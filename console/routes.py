"""The console's pages as data: section, file, title, address and who may open them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from console.auth import Permission, Role, can

PAGES_DIR = Path(__file__).parent / "pages"


@dataclass(frozen=True)
class Route:
    """One page of the console."""

    section: str
    file: str
    title: str
    icon: str
    url_path: str
    permission: Permission
    default: bool = False

    @property
    def path(self) -> Path:
        """The page's script."""
        return PAGES_DIR / self.file


ROUTES: tuple[Route, ...] = (
    Route(
        "Operations",
        "overview.py",
        "Overview",
        ":material/dashboard:",
        "overview",
        Permission.OPERATIONS,
        default=True,
    ),
    Route(
        "Operations",
        "ecos.py",
        "ECOs",
        ":material/list_alt:",
        "ecos",
        Permission.OPERATIONS,
    ),
    # The exception inbox keeps the Exceptions page's address, so old links still work.
    Route(
        "Operations",
        "inbox.py",
        "Inbox",
        ":material/inbox:",
        "exceptions",
        Permission.OPERATIONS,
    ),
    Route(
        "Operations",
        "operations.py",
        "Operations",
        ":material/task_alt:",
        "operations",
        Permission.OPERATIONS,
    ),
    Route(
        "Operations",
        "alerts.py",
        "Alerts",
        ":material/notifications_active:",
        "alerts",
        Permission.OPERATIONS,
    ),
    Route(
        "Exceptions",
        "awaiting_confirmation.py",
        "Awaiting ERP confirmation",
        ":material/hourglass_top:",
        "awaiting-confirmation",
        Permission.OPERATIONS,
    ),
    Route(
        "Exceptions",
        "prior_revisions.py",
        "Plants on a prior revision",
        ":material/history:",
        "prior-revisions",
        Permission.OPERATIONS,
    ),
    Route(
        "Exceptions",
        "supplier_notices.py",
        "Failed supplier notices",
        ":material/mark_email_unread:",
        "supplier-notices",
        Permission.OPERATIONS,
    ),
    Route(
        "Exceptions",
        "drift.py",
        "Drift",
        ":material/compare_arrows:",
        "drift",
        Permission.OPERATIONS,
    ),
    Route(
        "Exceptions",
        "overdue.py",
        "Overdue work",
        ":material/alarm:",
        "overdue",
        Permission.OPERATIONS,
    ),
    Route(
        "Exceptions",
        "at_risk.py",
        "At risk",
        ":material/event_busy:",
        "at-risk",
        Permission.OPERATIONS,
    ),
    Route(
        "Exceptions",
        "rejected_ecos.py",
        "Rejected ECOs",
        ":material/block:",
        "rejected-ecos",
        Permission.OPERATIONS,
    ),
    Route(
        "Procurement",
        "supplier_qualification.py",
        "Supplier qualification",
        ":material/verified:",
        "supplier-qualification",
        Permission.OPERATIONS,
    ),
    Route(
        "Procurement",
        "supplier.py",
        "Supplier",
        ":material/factory:",
        "supplier",
        Permission.OPERATIONS,
    ),
    Route(
        "Procurement",
        "exposure.py",
        "Exposure",
        ":material/warning:",
        "exposure",
        Permission.OPERATIONS,
    ),
    Route("Investigate", "eco.py", "ECO", ":material/search:", "eco", Permission.INVESTIGATE),
    Route(
        "Investigate",
        "status.py",
        "Status",
        ":material/pivot_table_chart:",
        "status",
        Permission.OPERATIONS,
    ),
    Route(
        "Investigate",
        "audit_log.py",
        "Audit log",
        ":material/fact_check:",
        "audit",
        Permission.AUDIT,
    ),
    Route(
        "Reports",
        "cycle_time.py",
        "Cycle time",
        ":material/timer:",
        "cycle-time",
        Permission.REPORTS,
    ),
)
"""Every page, in menu order."""


def visible_to(role: Role) -> list[Route]:
    """The pages ``role`` may open, in menu order."""
    return [route for route in ROUTES if can(role, route.permission)]
