//! The process's log lines, captured: trouw's JSON subscriber writing into memory, for the
//! tests that check what the handlers log (each such test is its own binary, since a process
//! has one subscriber).

use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// An in-memory writer for the subscriber; clones share one buffer.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Installs trouw's subscriber writing here, once per process; later calls get the same.
    pub fn install() -> &'static CapturedLogs {
        static CAPTURED: OnceLock<CapturedLogs> = OnceLock::new();
        CAPTURED.get_or_init(|| {
            let captured = CapturedLogs::default();
            trouw::telemetry::init_with_writer(captured.clone());
            captured
        })
    }

    /// Everything logged so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The lines logged so far that are JSON (all of trouw's are).
    pub fn json_lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> CapturedLogs {
        self.clone()
    }
}
