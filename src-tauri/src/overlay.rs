//! The count on the Windows taskbar button (an overlay icon: Windows shows no number otherwise).
//! Drawn here as a 32×32 RGBA badge — a filled circle, red while an urgent item is untaken, else
//! the app's blue, with the unconfirmed count in a small built-in pixel font ("9+" above nine) —
//! so no image files per number are shipped. Counts only, never names or text. On Linux the count
//! goes to the launcher (`launcher.rs`); tauri's `set_overlay_icon` is a no-op there.

/// Side of the badge in pixels (Windows scales it to the taskbar's overlay size).
pub const SIZE: u32 = 32;

const URGENT: [u8; 3] = [0xc6, 0x28, 0x28];
const CALM: [u8; 3] = [0x1f, 0x5f, 0x99];

/// 3×5 glyphs, one row per 3 bits (high bit left).
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b001, 0b001, 0b001],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '+' => [0b000, 0b010, 0b111, 0b010, 0b000],
        _ => return None,
    })
}

/// The text a count shows: nothing for 0, "1"…"9", then "9+".
pub fn text(count: u32) -> Option<String> {
    match count {
        0 => None,
        1..=9 => Some(count.to_string()),
        _ => Some("9+".into()),
    }
}

/// The badge for `count` as RGBA pixels (`SIZE`×`SIZE`), or `None` for no badge.
pub fn badge(count: u32, urgent: bool) -> Option<Vec<u8>> {
    let text = text(count)?;
    let n = SIZE as usize;
    let mut px = vec![0u8; n * n * 4];
    let fill = if urgent { URGENT } else { CALM };
    let r = SIZE as f32 / 2.0 - 0.5;
    for y in 0..n {
        for x in 0..n {
            let (dx, dy) = (x as f32 - r, y as f32 - r);
            if dx * dx + dy * dy <= r * r {
                let i = (y * n + x) * 4;
                px[i..i + 3].copy_from_slice(&fill);
                px[i + 3] = 0xff;
            }
        }
    }
    // One glyph at 4× (12×20), two at 3× (9×15 each, 2 px apart).
    let chars: Vec<char> = text.chars().collect();
    let scale = if chars.len() == 1 { 4 } else { 3 };
    let (gw, gh, gap) = (3 * scale, 5 * scale, 2);
    let width = chars.len() * gw + (chars.len() - 1) * gap;
    let (x0, y0) = ((n - width) / 2, (n - gh) / 2);
    for (k, c) in chars.iter().enumerate() {
        let rows = glyph(*c)?;
        for (gy, bits) in rows.iter().enumerate() {
            for gx in 0..3 {
                if bits & (0b100 >> gx) == 0 {
                    continue;
                }
                for sy in 0..scale {
                    for sx in 0..scale {
                        let x = x0 + k * (gw + gap) + gx * scale + sx;
                        let y = y0 + gy * scale + sy;
                        let i = (y * n + x) * 4;
                        px[i..i + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
                    }
                }
            }
        }
    }
    Some(px)
}

/// What the taskbar shows now (text, urgent): the icon is set only when this changes.
#[cfg(windows)]
static SHOWN: std::sync::Mutex<Option<(Option<String>, bool)>> = std::sync::Mutex::new(None);

/// Puts the badge on the main window's taskbar button (Windows only: tauri's
/// `set_overlay_icon`), or removes it at 0. Elsewhere nothing.
#[cfg(windows)]
pub fn show(app: &tauri::AppHandle, count: u32, urgent: bool) {
    use tauri::Manager;
    let now = (text(count), urgent && count > 0);
    if let Ok(mut shown) = SHOWN.lock() {
        if shown.as_ref() == Some(&now) {
            return;
        }
        *shown = Some(now);
    }
    let Some(w) = app.get_webview_window(crate::window::MAIN) else {
        return;
    };
    let icon = badge(count, urgent).map(|px| tauri::image::Image::new_owned(px, SIZE, SIZE));
    if let Err(e) = w.set_overlay_icon(icon) {
        tracing::debug!("taskbar overlay not set: {e}");
    }
}

/// Puts the badge on the main window's taskbar button (Windows only). Elsewhere nothing.
#[cfg(not(windows))]
pub fn show(_app: &tauri::AppHandle, _count: u32, _urgent: bool) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(px: &[u8], x: usize, y: usize) -> [u8; 4] {
        let i = (y * SIZE as usize + x) * 4;
        [px[i], px[i + 1], px[i + 2], px[i + 3]]
    }

    fn white(px: &[u8]) -> usize {
        px.chunks(4)
            .filter(|p| p == &[0xff, 0xff, 0xff, 0xff])
            .count()
    }

    #[test]
    fn no_badge_at_zero_and_nine_plus_above_nine() {
        assert!(badge(0, true).is_none());
        assert_eq!(text(7).as_deref(), Some("7"));
        assert_eq!(text(10).as_deref(), Some("9+"));
        assert_eq!(text(4000).as_deref(), Some("9+"));
    }

    #[test]
    fn a_filled_circle_in_the_urgent_or_calm_colour_with_the_digits_in_white() {
        let u = badge(3, true).unwrap();
        let c = badge(3, false).unwrap();
        assert_eq!(u.len(), (SIZE * SIZE * 4) as usize);
        assert_eq!(at(&u, 0, 0)[3], 0, "corners are transparent");
        assert_eq!(at(&u, 16, 2), [0xc6, 0x28, 0x28, 0xff]);
        assert_eq!(at(&c, 16, 2), [0x1f, 0x5f, 0x99, 0xff]);
        // "3" has 11 lit cells of 16 px at 4×; "8" has 13; different counts, different pixels.
        assert_eq!(white(&u), 11 * 16);
        assert_eq!(white(&badge(8, false).unwrap()), 13 * 16);
        assert_ne!(badge(1, false), badge(7, false));
        // "9+" = 12 + 5 cells at 3× (9 px each).
        assert_eq!(white(&badge(12, false).unwrap()), (12 + 5) * 9);
    }
}
