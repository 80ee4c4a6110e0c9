//! The FAX/scanner folder watcher on a real temp folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use renkei_intake::fax_folder::{FaxEvent, FaxWatcher, DONE_DIR, ERROR_DIR};
use renkei_intake::FaxFolderConfig;
use std::time::Duration;

fn inbox() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[tokio::test]
async fn stable_pdf_is_imported_then_moved_and_duplicates_make_nothing_new() {
    let s = TestServer::start().await;
    let dir = inbox();
    let mut w = FaxWatcher::new(FaxFolderConfig::new(dir.path()));
    std::fs::write(
        dir.path().join("20261201_0903_札幌北辰病院_紹介状.pdf"),
        PDF,
    )
    .unwrap();
    // First sight: not yet stable.
    assert!(w.scan_once(&s.state).await.unwrap().is_empty());
    assert_eq!(s.count(""), 0);
    let ev = w.scan_once(&s.state).await.unwrap();
    assert_eq!(ev.len(), 1);
    let FaxEvent::Imported { id, created, .. } = ev[0].clone() else {
        panic!("{ev:?}")
    };
    assert!(created);
    assert!(!dir
        .path()
        .join("20261201_0903_札幌北辰病院_紹介状.pdf")
        .exists());
    assert!(dir
        .path()
        .join(DONE_DIR)
        .join("20261201_0903_札幌北辰病院_紹介状.pdf")
        .exists());
    let d = s.desk().show(id, None).unwrap();
    assert_eq!(d.row.channel, renkei_core::Channel::FaxFolder);
    assert_eq!(d.attachment_list.len(), 1);
    // The same pages scanned again under another name: the existing consultation.
    std::fs::write(dir.path().join("20261201_0910_再送.pdf"), PDF).unwrap();
    w.scan_once(&s.state).await.unwrap();
    let ev = w.scan_once(&s.state).await.unwrap();
    assert_eq!(
        ev,
        vec![FaxEvent::Imported {
            file: "20261201_0910_再送.pdf".into(),
            id,
            created: false
        }]
    );
    assert!(dir
        .path()
        .join(DONE_DIR)
        .join("20261201_0910_再送.pdf")
        .exists());
    assert_eq!(s.count(""), 1);
    assert_eq!(s.notices.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_growing_file_waits_until_it_is_stable() {
    let s = TestServer::start().await;
    let dir = inbox();
    let mut w = FaxWatcher::new(FaxFolderConfig::new(dir.path()));
    let f = dir.path().join("scan.pdf");
    std::fs::write(&f, &PDF[..10]).unwrap();
    assert!(w.scan_once(&s.state).await.unwrap().is_empty());
    std::fs::write(&f, PDF).unwrap(); // the scanner is still writing
    assert!(w.scan_once(&s.state).await.unwrap().is_empty());
    let ev = w.scan_once(&s.state).await.unwrap();
    assert!(
        matches!(ev[..], [FaxEvent::Imported { created: true, .. }]),
        "{ev:?}"
    );
}

#[tokio::test]
async fn refused_files_go_to_the_error_folder_with_a_reason() {
    let s = TestServer::start().await;
    let dir = inbox();
    let mut w = FaxWatcher::new(FaxFolderConfig::new(dir.path()));
    std::fs::write(dir.path().join("memo.pdf"), "これはPDFではありません").unwrap();
    std::fs::write(dir.path().join("empty.pdf"), b"").unwrap();
    std::fs::write(dir.path().join("truncated.pdf"), &PDF[..40]).unwrap();
    // Hidden and temporary files are left alone.
    std::fs::write(dir.path().join(".~lock.scan.pdf#"), b"x").unwrap();
    std::fs::write(dir.path().join("scan.pdf.part"), &PDF[..20]).unwrap();
    w.scan_once(&s.state).await.unwrap();
    let ev = w.scan_once(&s.state).await.unwrap();
    assert_eq!(ev.len(), 3, "{ev:?}");
    assert!(ev.iter().all(|e| matches!(e, FaxEvent::Refused { .. })));
    let err = dir.path().join(ERROR_DIR);
    for name in ["memo.pdf", "empty.pdf", "truncated.pdf"] {
        assert!(err.join(name).exists(), "{name}");
        let why = std::fs::read_to_string(err.join(format!("{name}.txt"))).unwrap();
        assert!(why.contains(name), "{why}");
        assert!(!dir.path().join(name).exists());
    }
    let why = std::fs::read_to_string(err.join("truncated.pdf.txt")).unwrap();
    assert!(why.contains("truncated"), "{why}");
    assert!(dir.path().join(".~lock.scan.pdf#").exists());
    assert!(dir.path().join("scan.pdf.part").exists());
    assert_eq!(s.count(""), 0);
    assert_eq!(s.attachments(), 0);
}

#[tokio::test]
async fn the_server_watches_the_configured_folder() {
    let dir = inbox();
    let data = tempfile::tempdir().unwrap();
    let mut fax = FaxFolderConfig::new(dir.path());
    fax.interval = Duration::from_millis(50);
    let state = renkei_intake::IntakeState::with_key(
        renkei_core::store::DataDir::new(data.path()),
        renkei_core::store::StoreKey::random(),
        clock(),
        renkei_intake::IntakeConfig {
            fax_folder: Some(fax),
            ..renkei_intake::IntakeConfig::default()
        },
    )
    .unwrap();
    let h = renkei_intake::spawn_with_state(state, "127.0.0.1:0").unwrap();
    std::fs::write(dir.path().join("fax_0001.tif"), b"II*\0\x08\0\0\0").unwrap();
    let moved = dir.path().join(DONE_DIR).join("fax_0001.tif");
    let ok = eventually(Duration::from_secs(10), || {
        let m = moved.clone();
        async move { m.exists() }
    })
    .await;
    assert!(ok, "the TIFF was not imported");
    tokio::task::spawn_blocking(move || h.stop())
        .await
        .unwrap()
        .unwrap();
}
