"""End-to-end: a mail (.eml) dropped on the window becomes its own consultation (channel
`email`, or `mcs` for an MCS notice) with its PDF attachment as a document — through the page's
HTML5 drop (bytes + the declared type; a mail program gives a dragged message the type
`message/rfc822`, with or without a `.eml` name) and through a real OS drag (native paths).
Fixtures: tests/mail/ (fictional senders)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from selenium.webdriver.common.keys import Keys

from conftest import b64, wait_until
from test_desk import DROP_JS, press, stored_files
from test_native_drop import last_drop, os_drag

MAIL = Path(__file__).resolve().parents[1] / "mail"


def drop(desk, name, mime, raw):
    desk.js("document.body.dataset.lastDrop = ''; document.getElementById('toast').replaceChildren();")
    assert desk.js(DROP_JS, name, mime, b64(raw), "#queue") == 1
    return json.loads(wait_until(lambda: desk.js("return document.body.dataset.lastDrop"), 10,
                                 what="body[data-last-drop]"))


def test_dropped_eml_becomes_a_mail_consultation_with_its_document(demo_store, launch):
    desk = launch(demo_store)
    desk.one("#queue .queue-row")
    before = demo_store.queue_ids("--all")
    name = "診療情報提供書の送付.eml"
    last = drop(desk, name, "message/rfc822", (MAIL / "pdf_attachment.eml").read_bytes())
    assert len(last) == 1 and last[0]["name"] == name and last[0]["code"] is None, last
    cid = last[0]["id"]
    assert cid not in before
    ok = [t for t in desk.toasts() if t["kind"] == "ok"]
    assert ok and ok[-1]["code"] == "created" and "メール" in ok[-1]["text"], desk.toasts()
    row = f"#queue .queue-row[data-id='{cid}']"
    desk.one(f"{row} .clip", timeout=5)
    assert desk.attr(row, "data-channel") == "email"
    shown = demo_store.show(cid)
    assert shown["channel"] == "email" and shown["subject"] == "診療情報提供書の送付", shown
    att = shown["attachments"]
    assert [a["name"] for a in att] == ["referral.pdf"] and att[0]["media_type"] == "application/pdf", att
    wait_until(lambda: desk.selected_id() == cid, 3, what="new row selected")
    press(desk, Keys.ENTER)
    desk.one(f"#consultation[data-id='{cid}']")
    desk.one(f"#attachments .att__item[data-id='{att[0]['id']}']")
    # The refused attachment (setup.exe) is named in the text, not silently dropped.
    assert "setup.exe" in desk.text(f"#consultation[data-id='{cid}']")
    desk.screenshot("mail-drop")

    # The same mail again: the existing consultation, nothing new.
    press(desk, Keys.ESCAPE)
    desk.one("#queue")
    files_before = stored_files(demo_store)
    last = drop(desk, name, "message/rfc822", (MAIL / "pdf_attachment.eml").read_bytes())
    assert last[0]["id"] == cid, last
    ok = [t for t in desk.toasts() if t["kind"] == "ok"]
    assert ok and ok[-1]["code"] == "existing", desk.toasts()
    assert stored_files(demo_store) == files_before

    # A message dragged out of a mail program without a .eml name: its declared type decides.
    last = drop(desk, "【MCS】新しい投稿", "message/rfc822", (MAIL / "mcs_notice.eml").read_bytes())
    mid = last[0]["id"]
    assert mid and last[0]["code"] is None, last
    assert demo_store.show(mid)["channel"] == "mcs"


def test_native_os_drop_of_an_eml_file_is_imported_as_mail(demo_store, launch, tmp_path):
    desk = launch(demo_store)
    desk.one("#queue .queue-row")
    path = tmp_path / "退院前カンファレンス.eml"
    path.write_bytes((MAIL / "iso2022jp.eml").read_bytes())
    signals = os_drag(path)
    assert "drag-begin" in signals, signals
    last = last_drop(desk)
    assert len(last) == 1 and last[0]["code"] is None, last
    shown = demo_store.show(last[0]["id"])
    assert shown["channel"] == "email" and shown["subject"] == "退院前カンファレンスの日程について", shown
    time.sleep(0.2)
    desk.screenshot("mail-native-drop")
