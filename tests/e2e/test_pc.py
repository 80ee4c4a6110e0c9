"""Issue 23: ready for a real clinic PC — the window fits a 1366×768 screen, remembers its size,
and the app registers itself to start with the PC (once, by default; a setting after that)."""

from __future__ import annotations

import subprocess
import time

from conftest import consultation, wait_until
from test_desk import Monitor


def autostart_entries(tmp_path, profile="p1"):
    d = tmp_path / "webview" / profile / "home" / ".config" / "autostart"
    return sorted(p.name for p in d.glob("*.desktop")) if d.exists() else []


def test_the_window_fits_a_small_screen_and_nothing_falls_below_it(demo_store, launch):
    """The suite's screen is 1366×768: the configured 1280×800 window does not fit, so it opens
    maximised and the status bar (未確認・至急・期限超過) is on screen."""
    desk = launch(demo_store)
    desk.one("#queue .queue-row")
    geo = wait_until(
        lambda: (g := desk.js(
            "const r = document.getElementById('status-bar').getBoundingClientRect();"
            "return {bottom: r.bottom, height: r.height, inner: window.innerHeight,"
            " outer: window.outerHeight, screen: screen.height, avail: screen.availHeight};"
        )) and g["outer"] <= g["screen"] and g,
        5, what="the window to fit the screen",
    )
    print(f"\nWINDOW: {geo}")
    assert geo["outer"] <= geo["screen"], geo
    assert geo["height"] > 0 and geo["bottom"] <= geo["inner"], f"status bar cut off: {geo}"


def test_the_app_starts_with_the_pc_by_default_and_the_setting_turns_it_off(demo_store, launch, tmp_path):
    desk = launch(demo_store)
    desk.one("#queue .queue-row")
    entries = wait_until(lambda: autostart_entries(tmp_path), 5, what="the autostart entry")
    assert len(entries) == 1, entries
    text = (tmp_path / "webview" / "p1" / "home" / ".config" / "autostart" / entries[0]).read_text()
    assert "--autostart" in text, text
    desk.click("#nav-settings")
    box = desk.one("#set-autostart")
    wait_until(lambda: box.get_attribute("disabled") is None, 5, what="the autostart setting to load")
    assert box.is_selected()
    box.click()
    wait_until(lambda: not autostart_entries(tmp_path), 5, what="the autostart entry to be removed")
    # The user's choice stands at the next start: no second first-run default.
    desk.stop()
    desk2 = launch(demo_store)
    desk2.one("#queue .queue-row")
    assert autostart_entries(tmp_path) == []


def test_clicking_an_urgent_notification_opens_its_consultation(demo_store, launch, intake):
    """The notification's default action, invoked over D-Bus as the notification server does
    when it is clicked, brings the window forward on that consultation."""
    key = demo_store.partner(name="E2E 通知クリック病院")["api_key"]
    server = intake()
    desk = launch(demo_store)
    mon = Monitor("type='method_return'")
    try:
        desk.click("#nav-settings")  # somewhere else than the queue
        desk.one("#view-settings")
        time.sleep(1.2)  # the demo's urgent item is announced at start: not the one we click
        before = len(mon.notification_ids())
        status, res = server.post(key, consultation("至急の往診依頼（E2E）", urgency="urgent", category="new_home_visit"))
        assert status == 201, res
        cid = res["id"]
        ids = wait_until(lambda: len(mon.notification_ids()) > before and mon.notification_ids(), 5,
                         what="the id of the new urgent notification")
        nid = ids[before]
        # The app starts listening for the click just after the notification is shown; a person
        # clicks seconds later. Click (signal) again until it opens, as a person would.
        def click_notification():
            subprocess.run(
                ["dbus-send", "--session", "--type=signal", "/org/freedesktop/Notifications",
                 "org.freedesktop.Notifications.ActionInvoked", f"uint32:{nid}", "string:default"],
                check=True, timeout=10,
            )
            return wait_until(lambda: desk.q(f"#consultation[data-id='{cid}']"), 0.7, soft=True)
        assert wait_until(click_notification, 8, interval=0.05, what=f"consultation {cid} opened by the click")
    finally:
        mon.stop()
