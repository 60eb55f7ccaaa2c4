//! What supervisors rely on: systemd's readiness message (`Type=notify`) and the
//! `healthcheck` subcommand containers use (their images have no curl).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

fn healthcheck(bind: &str) -> i32 {
    Command::new(env!("CARGO_BIN_EXE_strray-collector"))
        .arg("healthcheck")
        .env("STRRAY_BIND", bind)
        .env_remove("STRRAY_CONFIG")
        .stderr(Stdio::null())
        .status()
        .expect("run healthcheck")
        .code()
        .unwrap_or(-1)
}

#[test]
fn notifies_systemd_when_ready_and_answers_healthcheck_until_stopped() {
    let dir = std::env::temp_dir().join(format!("strray-supervisor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    // A guard against a hang, not a timing assertion.
    socket
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_strray-collector"))
        .arg("serve")
        // A wildcard bind, as in a container: the probe must go via loopback.
        .env("STRRAY_BIND", "0.0.0.0:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("s.db").display()),
        )
        .env("NOTIFY_SOCKET", &socket_path)
        .env("RUST_LOG", "error")
        .env_remove("STRRAY_CONFIG")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().rsplit(':').next().unwrap().to_string();

    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("READY=1 on NOTIFY_SOCKET");
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(msg.lines().any(|l| l == "READY=1"), "got {msg:?}");

    assert_eq!(
        healthcheck(&format!("0.0.0.0:{port}")),
        0,
        "collector is up"
    );

    // SIGTERM as a supervisor sends it; a clean stop exits 0.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(child.wait().unwrap().success());
    assert_eq!(
        healthcheck(&format!("0.0.0.0:{port}")),
        1,
        "nothing listens any more"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
