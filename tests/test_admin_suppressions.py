"""Admin suppressions: added, looked up and removed with a reason, in the UI and the API, each audited."""

from __future__ import annotations

from sqlalchemy import select

from service.mail.suppressions import is_suppressed
from service.models import Suppression
from tests.support.admin import audit_of, csrf_of, signed_in


def test_suppressions_are_added_looked_up_and_removed_with_a_reason(client, db):
    signed_in(client, db)
    csrf = csrf_of(client, "/admin/suppressions")
    answer = client.post(
        "/admin/suppressions",
        data={"csrf_token": csrf, "address": "Gone@Example.org", "reason": "complained by letter"},
    )
    assert "Suppressed" in answer.text and "complained by letter" in answer.text
    assert is_suppressed(db, "gone@example.org")
    looked = client.post("/admin/suppressions/lookup", data={"csrf_token": csrf, "address": "gone@example.org"})
    assert "Suppressed</strong>" in looked.text and "complained by letter" in looked.text
    assert "gone@example.org" not in client.get("/admin/suppressions").text.replace('value="gone@example.org"', "")
    refused = client.post(
        "/admin/suppressions/remove", data={"csrf_token": csrf, "address": "gone@example.org", "reason": ""}
    )
    assert refused.status_code == 422 and "Please give a reason" in refused.text
    removed = client.post(
        "/admin/suppressions/remove",
        data={"csrf_token": csrf, "address": "gone@example.org", "reason": "wrote back: wants the news again"},
    )
    assert "Removed from the suppression list" in removed.text and not is_suppressed(db, "gone@example.org")
    again = client.post("/admin/suppressions/lookup", data={"csrf_token": csrf, "address": "gone@example.org"})
    assert "Not suppressed" in again.text
    assert [e.actor for e in audit_of(db, "suppression.add") + audit_of(db, "suppression.remove")] == [
        "ann@example.org"
    ] * 2

    made = client.post(
        "/api/admin/suppressions",
        headers={"X-CSRF-Token": csrf},
        json={"address": "api@example.org", "reason": "hard bounce elsewhere"},
    )
    assert made.status_code == 201 and made.json()["reason"] == "hard bounce elsewhere"
    listed = client.get("/api/admin/suppressions").json()
    assert [row["hash_prefix"] for row in listed["rows"]] == [made.json()["hash_prefix"]]
    gone = client.request(
        "DELETE",
        "/api/admin/suppressions",
        headers={"X-CSRF-Token": csrf},
        json={"address": "api@example.org", "reason": "test over"},
    )
    assert gone.status_code == 200 and gone.json() == {"removed": True}
    db.expire_all()
    assert db.scalar(select(Suppression.id)) is None
