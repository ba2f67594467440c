"""The whole schema on one metadata: every concept's tables registered, for Alembic and for tests that empty them."""

from __future__ import annotations

# in the order the tables were registered when service.models imported these, which Base.metadata.tables keeps
# isort: off
from service.models import Base
import service.admin.models  # noqa: F401 - the admin tables
from service.bounces import models as _bounce_models  # noqa: F401 - bounces
from service.branding import models as _branding_models  # noqa: F401 - the branding tables
from service.delivery import leases as _leases  # noqa: F401 - delivery_leases
from service.delivery import reply_counts as _reply_counts  # noqa: F401 - edition_reply_counts
from service.delivery import rollup as _rollup  # noqa: F401 - edition_rollups
# isort: on

metadata = Base.metadata

__all__ = ["Base", "metadata"]
