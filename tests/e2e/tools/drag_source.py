"""A real X11 drag source for the native drag-and-drop test: a small GTK 3 window whose button
offers one file as `text/uri-list` (what a file manager offers), so xdotool can drag it onto
Renkei Desk through the OS (XDND), not through a synthetic HTML5 event.

Run with the system Python (PyGObject from Debian's python3-gi + gir1.2-gtk-3.0):
    /usr/bin/python3 drag_source.py file:///path/to/file.pdf
Prints `drag-begin`, `drag-data-get`, `drag-end` as the drag goes on."""

import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, Gtk  # noqa: E402

TITLE = "renkei-drag-source"


def main(uri: str) -> None:
    win = Gtk.Window(title=TITLE)
    win.set_default_size(200, 120)
    win.move(0, 0)
    button = Gtk.Button(label="drag me")
    button.drag_source_set(
        Gdk.ModifierType.BUTTON1_MASK,
        [Gtk.TargetEntry.new("text/uri-list", 0, 0)],
        Gdk.DragAction.COPY,
    )

    def data_get(_w, _ctx, data, _info, _time):
        data.set_uris([uri])
        print("drag-data-get", flush=True)

    button.connect("drag-begin", lambda *_: print("drag-begin", flush=True))
    button.connect("drag-data-get", data_get)
    button.connect("drag-end", lambda *_: print("drag-end", flush=True))
    win.add(button)
    win.connect("destroy", Gtk.main_quit)
    win.show_all()
    print("ready", flush=True)
    Gtk.main()


if __name__ == "__main__":
    main(sys.argv[1])
