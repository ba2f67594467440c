"""Prometheus metrics in celery-exporter style, from one snapshot per scrape (SMTP and workers as last checked)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from service.core.config import Settings
from service.models import DeliveryStatus
from service.ops.monitoring.status import Status, snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REFUSALS_DAYS = 7  # newsletter_policy_refusals covers this many days
STATUSES = (
    DeliveryStatus.pending,
    DeliveryStatus.sending,
    DeliveryStatus.sent,
    DeliveryStatus.failed,
    DeliveryStatus.skipped,
    DeliveryStatus.cancelled,
)


class NewsletterCollector(Collector):
    """Builds every metric from one snapshot per scrape (no counters kept in the process)."""

    def __init__(self, settings: Settings, status: Status | None = None):
        self.settings, self.status = settings, status

    def describe(self) -> list[Metric]:
        """Nothing to declare ahead: registering must not take a snapshot."""
        return []

    def collect(self) -> Iterator[Metric]:
        """One family per metric; editions are today's and those in progress (bounded label sets)."""
        status = self.status or snapshot(self.settings, failures=0)
        queue = GaugeMetricFamily(
            "newsletter_queue_length",
            "Messages waiting in the broker queue (Redis priority sub-queues included)",
            labels=["queue"],
        )
        for name, depth in status.queues.depths.items():
            queue.add_metric([name], depth)
        yield queue
        if status.queues.unacked is not None:
            yield GaugeMetricFamily(
                "newsletter_queue_unacked",
                "Messages delivered to workers, not yet acknowledged",
                value=status.queues.unacked,
            )
        yield GaugeMetricFamily(
            "newsletter_workers_online",
            "Workers consuming the task queue that answered beat's last scheduled ping",
            value=len(status.consuming_workers),
        )
        age = status.beat_age
        yield GaugeMetricFamily(
            "newsletter_beat_last_run_age_seconds",
            "Seconds since beat's dispatch tick last ran (-1: never seen)",
            value=age.total_seconds() if age is not None else -1,
        )
        deliveries = GaugeMetricFamily(
            "newsletter_deliveries", "Ledger rows per status", labels=["list", "edition", "status"]
        )
        rate = GaugeMetricFamily(
            "newsletter_send_rate_per_minute", "Messages sent per minute", labels=["list", "edition"]
        )
        retries = GaugeMetricFamily(
            "newsletter_delivery_retries", "Open deliveries that were tried before", labels=["list", "edition"]
        )
        progress = GaugeMetricFamily(
            "newsletter_edition_progress_ratio", "Share of planned deliveries done", labels=["list", "edition"]
        )
        for edition in status.editions:
            labels = [edition.list_slug, edition.edition_date.isoformat()]
            for name in STATUSES:
                deliveries.add_metric([*labels, name], getattr(edition, name))
            rate.add_metric(labels, edition.rate_per_minute or 0.0)
            retries.add_metric(labels, edition.retrying)
            progress.add_metric(labels, edition.progress)
        yield from (deliveries, rate, retries, progress)
        yield GaugeMetricFamily(
            "newsletter_editions_paused_for_refusals",
            "Editions paused because receivers refuse our sending setup (5.7.x); resume once it is fixed",
            value=len(status.paused_for_refusals),
        )
        yield GaugeMetricFamily(
            "newsletter_editions_awaiting_approval",
            "Editions of lists that hold them for "
            "approval whose send time has passed; each goes out once an editor approves it",
            value=len(status.awaiting_approval),
        )
        reasons = InfoMetricFamily(
            "newsletter_edition_refusal_pause", "Why an edition was paused for refusals", labels=["list", "edition"]
        )
        for edition in status.paused_for_refusals:
            reasons.add_metric(
                [edition.list_slug, edition.edition_date.isoformat()], {"reason": edition.pause_reason or ""}
            )
        yield reasons
        replies = CounterMetricFamily(
            "newsletter_smtp_replies", "Deliveries by class of their last SMTP reply", labels=["class"]
        )
        for klass, number in status.smtp_replies.items():
            replies.add_metric([klass], number)
        yield replies
        yield GaugeMetricFamily(
            "newsletter_stuck_leases", "Deliveries in sending whose lease expired", value=status.stuck_leases
        )
        up = GaugeMetricFamily("newsletter_up", "Whether a dependency answered (1) or not (0)", labels=["check"])
        latency = GaugeMetricFamily(
            "newsletter_check_latency_seconds", "How long the dependency took to answer", labels=["check"]
        )
        checked = GaugeMetricFamily(
            "newsletter_check_age_seconds",
            "Seconds since beat's scheduled check last ran (-1: never); a stale one counts as down",
            labels=["check"],
        )
        for check in status.checks:
            up.add_metric([check.name], 1.0 if check.ok else 0.0)
            latency.add_metric([check.name], check.latency_ms / 1000)
        for name, at in (
            ("smtp", next((c.checked_at for c in status.checks if c.name == "smtp"), None)),
            ("workers", status.workers.checked_at),
        ):
            checked.add_metric([name], (status.at - at).total_seconds() if at else -1.0)
        yield from (up, latency, checked)
        yield from _bounces(self.settings)


def _bounces(settings: Settings) -> Iterator[Metric]:
    """Bounces and complaints stored, per kind (nothing when the database does not answer: newsletter_up says so)."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.bounces.authenticate import Held
    from service.bounces.store import held_totals, policy_refusals, totals
    from service.core.db import session_scope
    from service.models import utcnow

    try:
        with session_scope(settings.effective_database_url) as session:
            found, held = totals(session), held_totals(session)
            refused = policy_refusals(session, since=utcnow() - timedelta(days=REFUSALS_DAYS))
    except SQLAlchemyError:
        return
    bounces = CounterMetricFamily(
        "newsletter_bounces", "Bounce and complaint reports taken in, per kind", labels=["kind"]
    )
    for kind, number in found.items():
        bounces.add_metric([kind], number)
    yield bounces
    kept = CounterMetricFamily(
        "newsletter_bounces_held", "Reports held for review and never applied, per reason", labels=["reason"]
    )
    for reason in Held:
        kept.add_metric([reason.value], held.get(reason.value, 0))
    yield kept
    policy = GaugeMetricFamily(
        "newsletter_policy_refusals",
        f"Reports of receivers refusing our setup (5.7.x) in "
        f"the last {REFUSALS_DAYS} days, per edition and receiving domain",
        labels=["edition", "domain"],
    )
    for row in refused:
        policy.add_metric([str(row.edition_id or ""), row.domain], row.count)
    yield policy


def render(settings: Settings, status: Status | None = None) -> bytes:
    """The exposition text, from a registry of its own (nothing shared between apps, tests or scrapes)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NewsletterCollector(settings, status))
    return generate_latest(registry)
