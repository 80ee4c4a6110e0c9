//! How WebKitGTK draws the page on Linux (issue 24, memory).
//!
//! WebKitGTK 2.46+ rasterises with Skia on the GPU by default. The desk's page is text, tables
//! and a few images: it gains nothing from GPU rasterisation, and where the PC has no usable GPU
//! (virtual machines, remote desktops, this project's test machine) "the GPU" is Mesa's
//! software renderer, whose textures and Skia's GPU resource cache cost CPU memory. Measured
//! here (docs/benchmarks.md, session 6): the web process of the desk with the demo queue idles
//! at 260 MiB PSS with GPU rasterisation and 198 MiB with Skia's CPU rasteriser, first paint
//! unchanged. So the app asks WebKit for CPU rasterisation — compositing stays on (turning it
//! off makes WebDriver screenshots hang, DESIGN.md) — unless the user or the environment already
//! chose (`WEBKIT_SKIA_ENABLE_CPU_RENDERING` set either way) or `RENKEI_GPU_RENDERING=1` asks for
//! WebKit's default. Windows (WebView2) and macOS are not affected.

/// The environment variable WebKitGTK reads in its web process.
pub const CPU_RENDERING: &str = "WEBKIT_SKIA_ENABLE_CPU_RENDERING";

/// Whether the app should set [`CPU_RENDERING`], given what the environment holds.
pub fn wants_cpu_rendering(already_set: bool, gpu_requested: bool) -> bool {
    cfg!(target_os = "linux") && !already_set && !gpu_requested
}

/// Called first thing in `run`, before any thread or web process exists (the web processes
/// inherit the environment).
pub fn choose() {
    let already_set = std::env::var_os(CPU_RENDERING).is_some();
    let gpu_requested = std::env::var("RENKEI_GPU_RENDERING").is_ok_and(|v| v == "1");
    if wants_cpu_rendering(already_set, gpu_requested) {
        // Single-threaded here: nothing else reads the environment yet.
        std::env::set_var(CPU_RENDERING, "1");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_rendering_is_chosen_only_when_nobody_chose() {
        assert_eq!(wants_cpu_rendering(false, false), cfg!(target_os = "linux"));
        assert!(
            !wants_cpu_rendering(true, false),
            "an explicit setting wins"
        );
        assert!(
            !wants_cpu_rendering(false, true),
            "RENKEI_GPU_RENDERING=1 keeps WebKit's default"
        );
    }
}
