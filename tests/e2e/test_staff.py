"""End-to-end: staff management and the lock screen, through the app's own screens only.

The clinic starts with no staff (first run, "who am I"); an administrator is created in
Settings → スタッフ, the app locks, and everything after that happens signed in. Selectors:
ui/README.md. Names are fictional.
"""

from __future__ import annotations

from conftest import wait_until


def into_view(desk, css):
    """Scrolls the element to the middle of the window (the settings page is long, and the
    status bar covers the bottom edge)."""
    desk.fresh(css, lambda e: desk.js("arguments[0].scrollIntoView({block: 'center'})", e))


def click(desk, css):
    into_view(desk, css)
    desk.click(css)


def type_into(desk, css, text):
    into_view(desk, css)
    desk.fresh(css, lambda e: (e.clear(), e.send_keys(text)))


def open_staff_section(desk):
    desk.click("#nav-settings")
    desk.one("#staff-admin #staff-table")


def add_staff(desk, name, role, pin):
    """Adds a profile through the staff section and waits for its row (or the lock screen)."""
    type_into(desk, "#staff-add-name", name)
    desk.js("const s = document.getElementById('staff-add-role'); s.value = arguments[0];", role)
    type_into(desk, "#staff-add-pin", pin)
    click(desk, "#staff-add")
    wait_until(lambda: desk.locked() or desk.q(f'#staff-table tr[data-name="{name}"]'), 10, what=f"{name} added")


def first_administrator(desk, name="院長", pin="9999"):
    """First run: the first profile with a PIN is a doctor; the app locks; sign in as them."""
    open_staff_section(desk)
    add_staff(desk, name, "doctor", pin)
    wait_until(desk.locked, 10, what="the lock screen after the first PIN")
    wait_until(lambda: desk.lock_names() == [name], 5, what=f"{name} on the lock screen")
    desk.sign_in(name, pin)


def row(desk, name, css=""):
    return f'#staff-table tr[data-name="{name}"] {css}'.strip()


def test_admin_deactivates_a_leaver_who_then_disappears_from_the_lock_screen(store, launch):
    store.cli("init")
    desk = launch(store)  # first run: "who am I" → 田村
    first_administrator(desk)
    open_staff_section(desk)
    add_staff(desk, "田村", "clerk", "1234")
    add_staff(desk, "大野", "nurse", "4821")

    # 田村 leaves the clinic: deactivate (confirmed in the row), never deleted.
    click(desk, row(desk, "田村", ".staff-deactivate"))
    desk.one(row(desk, "田村", ".staff-confirm:not([hidden])"))
    assert "田村" in desk.text(row(desk, "田村", ".staff-confirm"))
    click(desk, row(desk, "田村", ".staff-confirm-yes"))
    wait_until(lambda: desk.attr(row(desk, "田村"), "data-active") == "0", 5, what="田村 deactivated")
    desk.one(row(desk, "田村", ".staff-reactivate"))
    assert [t["code"] for t in desk.toasts()].count("staff_deactivated") == 1
    # 大野 gets a new PIN from the administrator.
    click(desk, row(desk, "大野", ".staff-reset"))
    type_into(desk, row(desk, "大野", ".staff-reset-pin"), "2580")
    click(desk, row(desk, "大野", ".staff-reset"))
    wait_until(lambda: any(t["code"] == "pin_reset" for t in desk.toasts()), 5, what="PIN reset")

    # The only administrator cannot deactivate themselves: a sentence says what to do first.
    click(desk, row(desk, "院長", ".staff-deactivate"))
    desk.one(row(desk, "院長", ".staff-confirm:not([hidden])"))
    click(desk, row(desk, "院長", ".staff-confirm-yes"))
    wait_until(lambda: desk.attr("#staff-error", "data-code") == "last_admin", 5, what="last_admin refusal")
    assert "先に別のスタッフ" in desk.text("#staff-error")
    assert desk.attr(row(desk, "院長"), "data-active") == "1"
    # (the toasts would cover the table in the picture for the docs)
    desk.js("document.getElementById('toast').replaceChildren(); document.getElementById('staff-admin').scrollIntoView();")
    desk.screenshot("settings-staff")

    # Locked: 田村 is not offered any more; 大野 signs in with the new PIN.
    desk.click("#lock-now")
    wait_until(desk.locked, 5, what="locked")
    wait_until(lambda: desk.lock_names() == ["院長", "大野"], 5, what="lock screen names without 田村")
    assert desk.js("return document.documentElement.lang") == "ja"
    assert desk.text("#lock h1") == "画面ロック中"
    desk.screenshot("lock-after-deactivate")
    desk.sign_in("大野", "2580")
    # A nurse sees the staff list but may change nothing.
    open_staff_section(desk)
    desk.one("#staff-readonly")
    assert desk.js("return [...document.querySelectorAll('#staff-table button, #staff-table select')].every(b => b.disabled)")
    # … but changes her own PIN: the current one is checked first.
    type_into(desk, "#my-pin-current", "0000")
    type_into(desk, "#my-pin-new", "1357")
    type_into(desk, "#my-pin-new2", "1357")
    click(desk, "#my-pin-save")
    wait_until(lambda: desk.attr("#my-pin-error", "data-code") == "unauthorized", 5, what="wrong current PIN")
    assert "今のPINが違います" in desk.text("#my-pin-error")
    type_into(desk, "#my-pin-current", "2580")
    click(desk, "#my-pin-save")
    wait_until(lambda: any(t["code"] == "pin_changed" for t in desk.toasts()), 5, what="PIN changed")
    desk.click("#lock-now")
    wait_until(desk.locked, 5, what="locked again")
    wait_until(lambda: "大野" in desk.lock_names(), 5, what="names on the lock screen")
    desk.sign_in("大野", "1357")


def test_lock_screen_speaks_the_clinic_language_on_another_pc(store, launch):
    store.cli("init")
    desk = launch(store)
    first_administrator(desk)
    desk.click("#nav-settings")
    click(desk, "#lang-en")  # the clinic's setting, saved in the core
    wait_until(lambda: desk.js("return document.documentElement.lang") == "en", 5, what="English")
    wait_until(lambda: desk.text("#nav-settings") == "Settings", 5, what="English navigation")
    desk.stop()

    # Another PC (a fresh webview profile: nothing in its localStorage) starts at the lock
    # screen, in the clinic's language.
    other = launch(store, staff=None, profile="other-pc")
    wait_until(other.locked, 10, what="lock screen on start")
    wait_until(lambda: other.text("#lock h1") == "Locked", 5, what="English lock screen")
    assert other.js("return document.documentElement.lang") == "en"
    assert other.text("#lock-ok") == "Unlock"
    other.screenshot("lock-english")
