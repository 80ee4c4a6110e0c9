"""End-to-end: the store checks itself at every start (a power cut, a disk problem) and the
settings show where the backups stand — journey 11 of a bad day."""

from __future__ import annotations

from conftest import wait_until


def open_settings(desk):
    desk.click("#nav-settings")
    return desk.one("#settings-selfcheck")


def self_check_state(desk):
    """Re-opens the settings until the self-check has run; returns (state, text)."""
    def done():
        desk.click("#nav-queue")
        desk.one("#queue")
        open_settings(desk)
        el = desk.one("#settings-selfcheck")
        state = el.get_attribute("data-state")
        return (state, el.text) if state != "pending" else None
    return wait_until(done, 20, what="the start-up self-check")


def test_the_store_checks_itself_at_start_and_settings_show_the_backups(demo_store, launch):
    counts = demo_store.cli("check", "--json", json_out=True)
    desk = launch(demo_store)
    desk.one("#queue .queue-row")
    state, text = self_check_state(desk)
    assert state == "ok", text
    assert f"相談 {counts['consultations']} 件" in text, text
    assert f"添付 {counts['attachments_checked']} 件" in text, text
    assert not [t for t in desk.toasts() if t["code"] == "store_problem"], desk.toasts()
    # The daily backup is written 30 s after start; with none yet the line says so.
    assert "まだありません" in desk.text("#settings-backup") or "renkei-" in desk.text("#settings-backup")
    audit = demo_store.cli("audit", "--json", json_out=True)
    assert any(r["action"] == "store.check" and r["detail"].startswith("ok") for r in audit), audit[:3]
    desk.screenshot("settings-health")


def test_a_lost_attachment_file_is_reported_at_start(demo_store, launch):
    files = sorted(p for p in (demo_store.dir / "attachments").rglob("*") if p.is_file())
    assert files, "the demo data has attachments"
    files[0].unlink()  # a disk problem, a file removed by hand
    desk = launch(demo_store)
    desk.one("#queue .queue-row")
    err = wait_until(lambda: [t for t in desk.toasts() if t["code"] == "store_problem"], 20,
                     what="the store-problem message")
    assert "renkei check" in err[0]["text"], err
    state, text = self_check_state(desk)
    assert state == "problem" and "missing" in text, text
