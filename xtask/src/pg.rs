//! A throwaway PostgreSQL cluster for tests, started when `DATABASE_URL` is not
//! given. initdb refuses to run as root, so as root the cluster belongs to the
//! `postgres` user (Debian's package creates it).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

pub struct TempPostgres {
    pub url: String,
    pub bin: PathBuf,
    pub data: PathBuf,
    as_postgres: bool,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Finds the server binaries: `pg_config --bindir`, else Debian's versioned dirs.
fn bin_dir() -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    if let Some(d) = dirs.into_iter().rev().find(|d| d.join("initdb").exists()) {
        return Ok(d);
    }
    if let Ok(o) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        if d.join("initdb").exists() {
            return Ok(d);
        }
    }
    bail!(
        "PostgreSQL server binaries not found: install the `postgresql` package or set DATABASE_URL"
    )
}

impl TempPostgres {
    fn cmd(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// A throwaway cluster for tests: durability off, for speed.
    pub fn start() -> Result<TempPostgres> {
        Self::start_with(false)
    }

    /// A throwaway cluster with PostgreSQL's durable defaults (fsync, synchronous
    /// commit, full-page writes), for benchmarks that claim durability.
    pub fn start_durable() -> Result<TempPostgres> {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Result<TempPostgres> {
        let bin = bin_dir()?;
        let as_postgres = is_root();
        let base = std::env::temp_dir().join(format!("strray-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base)?;
        let data = base.join("data");
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let pg = TempPostgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            bin,
            data: data.clone(),
            as_postgres,
        };
        if as_postgres {
            crate::run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&base),
            )?;
        }
        crate::run(
            pg.cmd("initdb")
                .arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
                .stdout(std::process::Stdio::null()),
        )
        .context("initdb")?;
        crate::run(
            pg.cmd("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(base.join("log"))
                .arg("-o")
                // Tests: durability off (a throwaway cluster; speed matters).
                // Benchmarks: PostgreSQL's durable defaults.
                .arg(format!(
                    "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300{}",
                    base.display(),
                    if durable {
                        ""
                    } else {
                        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                    }
                ))
                .args(["-w", "start"])
                .stdout(std::process::Stdio::null()),
        )
        .context("pg_ctl start")?;
        eprintln!(
            "xtask: started PostgreSQL on port {port} (data in {})",
            data.display()
        );
        Ok(pg)
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .status();
        if let Some(base) = self.data.parent() {
            let _ = std::fs::remove_dir_all(base);
        }
    }
}
