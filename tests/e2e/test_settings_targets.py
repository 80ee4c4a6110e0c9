"""End-to-end: per-category response targets (分類ごとの例外) in Settings — added, checked with
a sentence that says what to fix, saved through the core, still there after reopening."""

from __future__ import annotations

from conftest import wait_until
from test_staff import click


def overrides(desk):
    return desk.js(
        """return [...document.querySelectorAll('#set-overrides .override-row')].map(r => [
             r.querySelector('.override-category').value, r.querySelector('.override-urgency').value,
             r.querySelector('.override-kind').value, r.querySelector('.override-n').value]);""")


def save_and_read_error(desk):
    desk.js("document.getElementById('settings-error').textContent = ''")
    click(desk, "#settings-save")
    return wait_until(lambda: desk.text("#settings-error"), 5, what="a settings error")


def test_category_overrides_are_checked_and_saved(store, launch):
    store.cli("init")
    desk = launch(store)
    desk.click("#nav-settings")
    desk.one("#set-overrides")
    assert overrides(desk) == [["bed_availability", "normal", "business_minutes", "240"]]  # the default
    click(desk, "#set-override-add")
    click(desk, "#set-override-add")
    # rows 2 and 3 are both "退院調整 · every urgency": refused, saying which rows and what to do
    err = save_and_read_error(desk)
    assert "3 行目は 2 行目と同じ" in err and "削除" in err, err
    desk.js("document.querySelectorAll('#set-overrides .override-row')[2].remove()")
    # an amount of 0 is refused with the range to use
    desk.js("const n = document.querySelectorAll('#set-overrides .override-n')[1]; n.value = '0';")
    err = save_and_read_error(desk)
    assert "2 行目" in err and "1〜10080" in err, err
    desk.js("document.querySelectorAll('#set-overrides .override-n')[1].value = '120';")
    click(desk, "#settings-save")
    wait_until(lambda: any(t["code"] == "settings_saved" for t in desk.toasts()), 5, what="saved")
    # reopened: what the core stored
    desk.click("#nav-queue")
    desk.click("#nav-settings")
    wait_until(lambda: len(overrides(desk)) == 2, 5, what="two overrides after reopening")
    assert overrides(desk)[1] == ["discharge", "", "business_minutes", "120"]


def test_settings_say_where_the_store_key_is_kept_but_never_show_it(demo_store, launch):
    desk = launch(demo_store)
    desk.click("#nav-settings")
    text = wait_until(lambda: desk.text("#settings-key"), 10, what="#settings-key")
    assert "鍵ファイルに保管" in text, text  # the e2e stores keep their key in a key file
    assert demo_store.env["RENKEI_KEY_FILE"] in text, text
    assert "指紋" in text and "renkei key export" in text, text
    key = open(demo_store.env["RENKEI_KEY_FILE"]).read().strip()
    assert len(key) == 64
    page = desk.js("return document.documentElement.outerHTML")
    assert key not in page and key[:16] not in page, "the key itself must never reach the page"
    desk.screenshot("settings-key")


def test_the_receipt_template_and_the_oncall_doctor_are_checked_and_saved(store, launch):
    """Issue 20: Settings → 自動メッセージ. A template with an unknown placeholder is refused with
    the core's Japanese sentence; a good one and the on-call doctor's LINE WORKS user are saved
    (what `renkei autoreply --json` then prints)."""
    store.cli("init")
    desk = launch(store)
    desk.click("#nav-settings")
    desk.one("#set-receipt-template")
    assert desk.js("return document.getElementById('set-receipt-template').value") == \
        "受け付けました。担当：{担当}。{期限}までにご連絡します。"
    desk.js("document.getElementById('set-receipt-template').value = '担当：{担当者}です';")
    err = save_and_read_error(desk)
    assert "{担当者} は使えません" in err and "{担当} {期限} {クリニック}" in err, err
    desk.js("""document.getElementById('set-receipt-template').value = '{クリニック}です。受け付けました（担当 {担当}、{期限}までにご連絡）。';
               document.getElementById('set-oncall-user').value = 'doctor-oncall@clinic';""")
    click(desk, "#settings-save")
    wait_until(lambda: any(t["code"] == "settings_saved" for t in desk.toasts()), 5, what="saved")
    got = store.cli("autoreply", "--json", json_out=True)
    assert got["receipt_template"] == "{クリニック}です。受け付けました（担当 {担当}、{期限}までにご連絡）。", got
    assert got["oncall_lineworks_user"] == "doctor-oncall@clinic", got
    desk.js("document.getElementById('set-receipt-template').scrollIntoView()")
    desk.screenshot("settings-autoreply")
