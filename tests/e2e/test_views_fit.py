"""Issue 23: every view fits the screen the suite runs on (1366×768 by default; set E2E_SCREEN
for scripts/e2e.sh to try others, e.g. 1920x1080x24): no horizontal scrolling of the page, the
status bar on screen, and a screenshot of each view named after the screen size — at 100 % and at
125 % display size (Settings → 表示の大きさ, the size a 125 %-scaled Windows PC shows: 1366×768
becomes a 1093-px-wide page)."""

from __future__ import annotations

import subprocess
import time

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from conftest import SHOTS, wait_until

VIEWS = ["queue", "phone", "partners", "notifications", "audit", "settings"]


def check_views(desk, tag: str, zoomed=False) -> list[str]:
    """Each view's geometry; with `zoomed`, the nav is clicked from the page (WebKitWebDriver
    maps a click's coordinates without the page zoom and would hit the wrong element)."""
    problems = []
    for view in VIEWS:
        if zoomed:
            desk.js("document.querySelector(arguments[0]).click()", f"#nav-{view}")
        else:
            desk.click(f"#nav-{view}")
        wait_until(lambda: desk.js("return document.querySelector('#nav-' + arguments[0]).getAttribute('aria-current') === 'page'", view),
                   5, what=f"the {view} view")
        geo = desk.js(
            "const b = document.getElementById('status-bar').getBoundingClientRect();"
            "const d = document.documentElement;"
            "return {w: window.innerWidth, h: window.innerHeight, sw: d.scrollWidth, sh: d.scrollHeight,"
            " bar_bottom: b.bottom, bar_h: b.height, screen: screen.width + 'x' + screen.height,"
            " nav_h: Math.max(...[...document.querySelectorAll('.nav button')].map((e) => e.getBoundingClientRect().height)),"
            " inner: [...document.querySelectorAll('#queue-scroll, .page')].map((e) => e.scrollWidth - e.clientWidth)};"
        )
        print(f"\nVIEW {view} {tag}: {geo}")
        # 1 px for rounding: at 125 % the viewport is 1092.8 CSS px (innerWidth 1092, scrollWidth 1093).
        if geo["sw"] > geo["w"] + 1:
            problems.append(f"{view} {tag}: the page scrolls sideways ({geo})")
        if any(d > 1 for d in geo["inner"]):
            problems.append(f"{view} {tag}: the view's own area scrolls sideways ({geo})")
        if geo["nav_h"] > 40:
            problems.append(f"{view} {tag}: a menu label wraps onto two lines ({geo})")
        if not (geo["bar_h"] > 0 and geo["bar_bottom"] <= geo["h"] + 1):
            problems.append(f"{view} {tag}: status bar cut off ({geo})")
        desk.screenshot(f"view-{view}-{geo['screen']}{tag}")
        if zoomed:
            x11_shot(f"view-{view}-{geo['screen']}{tag}-x11")
    return problems


def x11_shot(name: str):
    """The X screen as the user sees it (WebDriver's screenshot renders the page at 100 %)."""
    time.sleep(0.5)
    subprocess.run(["import", "-silent", "-window", "root", str(SHOTS / f"{name}.png")], check=False, timeout=20)


def test_every_view_fits_the_screen(demo_store, launch):
    desk = launch(demo_store)
    desk.one("#queue .queue-row")
    problems = check_views(desk, "")
    assert not problems, problems


def zoom_from_settings(desk, pct: str):
    """Opens Settings from the menu (a DOM click: the page is zoomed) and, once the view has
    drawn its size buttons, presses `pct` %."""
    desk.js("document.querySelector('#nav-settings').click()")
    wait_until(lambda: desk.js("const b = document.querySelector('#zoom-' + arguments[0]); if (b) b.click(); return !!b;", pct),
               5, what=f"the {pct} % button")


def inner_width(desk) -> int:
    return desk.js("return window.innerWidth")


def test_every_view_fits_at_125_percent_and_the_size_is_kept_per_pc(demo_store, launch):
    desk = launch(demo_store)
    desk.one("#queue .queue-row")
    full = inner_width(desk)
    desk.click("#nav-settings")
    desk.click("#zoom-125")
    wait_until(lambda: desk.js("return document.querySelector('#zoom-125').getAttribute('aria-pressed') === 'true'"),
               5, what="125 % pressed")
    wait_until(lambda: abs(inner_width(desk) - full / 1.25) <= 2, 5, what=f"a page 1/1.25 of {full} px wide")
    problems = check_views(desk, "-125", zoomed=True)
    # 150 % (911 CSS px): the largest size offered still fits.
    zoom_from_settings(desk, "150")
    wait_until(lambda: abs(inner_width(desk) - full / 1.5) <= 2, 5, what=f"a page 1/1.5 of {full} px wide")
    problems += check_views(desk, "-150", zoomed=True)
    zoom_from_settings(desk, "125")
    wait_until(lambda: abs(inner_width(desk) - full / 1.25) <= 2, 5, what="back at 125 %")
    assert not problems, problems
    desk.stop()

    # The next start on this PC (same profile) opens at 125 % before anything is clicked.
    again = launch(demo_store)
    again.one("#queue .queue-row")
    wait_until(lambda: abs(inner_width(again) - full / 1.25) <= 2, 5, what="125 % after a restart")
    # Ctrl+0 goes back to 100 % (and Ctrl+- one step below it).
    ActionChains(again.driver).key_down(Keys.CONTROL).send_keys("0").key_up(Keys.CONTROL).perform()
    wait_until(lambda: abs(inner_width(again) - full) <= 2, 5, what="100 % after Ctrl+0")
    ActionChains(again.driver).key_down(Keys.CONTROL).send_keys("-").key_up(Keys.CONTROL).perform()
    wait_until(lambda: abs(inner_width(again) - full / 0.9) <= 2, 5, what="90 % after Ctrl+-")
