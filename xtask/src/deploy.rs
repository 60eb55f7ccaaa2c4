//! `cargo xtask deploy-test` and `cargo xtask bench-image`: the deployment
//! files under `deploy/` checked by their own tools, and the container image
//! built with podman and run against the test PostgreSQL.
//!
//! Tools: hadolint, kubernetes-validate and kubectl (for `kubectl kustomize`)
//! from pip, pinned in `.ci/run` and looked up in `target/deploy-venv/bin`
//! first; `docker-compose`, `systemd-analyze`, podman + runc + slirp4netns +
//! mmdebstrap from Debian.
//!
//! No container registry is reachable from the machines this runs on, so the
//! two base images the Dockerfile names are made locally from Debian packages
//! (`mmdebstrap … | podman import`) and passed as build arguments; the builder
//! base gets the host's Rust toolchain (Debian's rustc is older than the
//! workspace's edition) and the host's CA certificates (the egress proxy's CA,
//! so cargo and npm in the build can reach crates.io and npm).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::pg::TempPostgres;

const IMAGE: &str = "localhost/strray-collector:deploy-test";
const RUNTIME_BASE: &str = "localhost/strray-base-runtime:bookworm";
const KUSTOMIZE_DIRS: &[&str] = &["base", "overlays/demo", "overlays/production"];
/// `systemd-analyze security` exposure the unit must stay at or under (0–10 scale).
const MAX_EXPOSURE: f64 = 2.0;

/// Global podman options. crun 1.8 (Debian 12) refuses hosts with a hybrid
/// cgroup v1/v2 layout ("cgroups in hybrid mode not supported"); runc runs there.
fn podman_global() -> Vec<String> {
    if Path::new("/usr/bin/runc").exists() || Path::new("/usr/sbin/runc").exists() {
        vec!["--runtime".into(), "runc".into()]
    } else {
        Vec::new()
    }
}

/// podman's default rlimits (nofile 1048576) need CAP_SYS_RESOURCE, which
/// sandboxed CI runners lack; these lower values do not.
fn ulimit_args() -> Vec<String> {
    [
        "--ulimit",
        "nofile=16384:16384",
        "--ulimit",
        "nproc=4096:4096",
    ]
    .map(String::from)
    .to_vec()
}

/// Per-container options: the rlimits, and a network where the host's
/// loopback (the test PostgreSQL) is 10.0.2.2.
fn podman_run_args() -> Vec<String> {
    let mut a = ulimit_args();
    a.extend(["--network", "slirp4netns:allow_host_loopback=true"].map(String::from));
    a
}

fn podman() -> Command {
    let mut c = Command::new("podman");
    c.args(podman_global());
    c
}

/// A tool from the pip venv `.ci/run` makes, else from PATH.
fn tool(name: &str) -> Command {
    let venv = crate::root().join("target/deploy-venv/bin").join(name);
    Command::new(if venv.exists() {
        venv.into_os_string()
    } else {
        name.into()
    })
}

fn output(cmd: &mut Command) -> Result<(bool, String)> {
    let desc = format!("{cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("starting {desc} (see .ci/run for the packages)"))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text))
}

fn step(name: &str, started: Instant) {
    eprintln!(
        "xtask: {name} ok ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
}

pub fn test(static_only: bool, reuse_image: bool) -> Result<()> {
    let all = Instant::now();
    check_files()?;
    if static_only {
        return Ok(());
    }
    let t = Instant::now();
    let image = if reuse_image && image_exists(IMAGE) {
        IMAGE.to_string()
    } else {
        build_image()?
    };
    step(&format!("image ({image})"), t);
    let t = Instant::now();
    run_container_test(&image)?;
    step("container test", t);
    eprintln!(
        "xtask: deploy-test passed in {:.0} s",
        all.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The static checks: each file by the tool its target platform trusts.
pub fn check_files() -> Result<()> {
    let root = crate::root();
    let deploy = root.join("deploy");
    let out = root.join("target/deploy-test");
    std::fs::create_dir_all(&out)?;

    let t = Instant::now();
    let (ok, text) = output(tool("hadolint").current_dir(&root).args([
        "--config",
        ".hadolint.yaml",
        "deploy/Dockerfile",
    ]))?;
    if !ok {
        bail!("hadolint deploy/Dockerfile:\n{text}");
    }
    step("hadolint", t);

    let t = Instant::now();
    for dir in KUSTOMIZE_DIRS {
        let (ok, rendered) = output(
            tool("kubectl")
                .arg("kustomize")
                .arg(deploy.join("kubernetes").join(dir)),
        )?;
        if !ok {
            bail!("kubectl kustomize {dir}:\n{rendered}");
        }
        let file = out.join(format!("{}.yaml", dir.replace('/', "-")));
        std::fs::write(&file, &rendered)?;
        let (ok, text) = output(
            tool("kubernetes-validate")
                .args(["--strict", "--quiet"])
                .arg(&file),
        )?;
        if !ok || !text.trim().is_empty() {
            bail!("kubernetes-validate {dir} ({}):\n{text}", file.display());
        }
        // The Deployment's stop budget must cover preStop and both drain phases.
        if rendered.contains("kind: Deployment") {
            check_grace(&rendered).with_context(|| format!("kubernetes {dir}"))?;
        }
    }
    step(
        "kustomize + kubernetes-validate (base, demo, production)",
        t,
    );

    let t = Instant::now();
    let compose = deploy.join("compose");
    for env_file in [None, Some(".env.example")] {
        let mut c = Command::new("docker-compose");
        c.current_dir(&compose).args(["-f", "compose.yaml"]);
        if let Some(f) = env_file {
            c.args(["--env-file", f]);
        }
        let (ok, text) = output(c.args(["config", "-q"]))?;
        if !ok || !text.trim().is_empty() {
            bail!("docker-compose config (env file {env_file:?}):\n{text}");
        }
    }
    step("docker-compose config", t);

    let t = Instant::now();
    check_systemd(&root, &out)?;
    step("systemd-analyze verify + security", t);
    Ok(())
}

/// terminationGracePeriodSeconds > preStop sleep + 2 × STRRAY_SHUTDOWN_GRACE_SECS
/// (actix's request grace, then the queue drain, each up to the grace).
fn check_grace(rendered: &str) -> Result<()> {
    // The first number within a short distance after `key`.
    let num_after = |key: &str| -> Option<u64> {
        let at = rendered.find(key)? + key.len();
        let rest: String = rendered[at..].chars().take(80).collect();
        let start = rest.find(|c: char| c.is_ascii_digit())?;
        rest[start..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    let term =
        num_after("terminationGracePeriodSeconds").context("no terminationGracePeriodSeconds")?;
    let grace = num_after("STRRAY_SHUTDOWN_GRACE_SECS")
        .context("no STRRAY_SHUTDOWN_GRACE_SECS in the Deployment")?;
    let pre_stop = num_after("- sleep").unwrap_or(0);
    if term <= pre_stop + 2 * grace {
        bail!(
            "terminationGracePeriodSeconds {term} must exceed preStop {pre_stop} + 2 × grace {grace}"
        );
    }
    Ok(())
}

fn check_systemd(root: &Path, out: &Path) -> Result<()> {
    // An alternate root holding the system's units, the unit, its settings
    // file and the real binary where ExecStart expects it.
    let sysroot = out.join("systemd-root");
    let _ = std::fs::remove_dir_all(&sysroot);
    for d in [
        "etc/systemd/system",
        "etc/strray",
        "usr/local/bin",
        "usr/lib/systemd",
    ] {
        std::fs::create_dir_all(sysroot.join(d))?;
    }
    crate::run(
        Command::new("cp")
            .args(["-a", "/usr/lib/systemd/system"])
            .arg(sysroot.join("usr/lib/systemd/")),
    )?;
    let unit = sysroot.join("etc/systemd/system/strray-collector.service");
    std::fs::copy(root.join("deploy/systemd/strray-collector.service"), &unit)?;
    std::fs::copy(
        root.join("deploy/systemd/collector.env"),
        sysroot.join("etc/strray/collector.env"),
    )?;
    crate::run(crate::cargo().current_dir(root).args([
        "build",
        "-p",
        "collector",
        "--bin",
        "strray-collector",
    ]))?;
    std::fs::copy(
        root.join("target/debug/strray-collector"),
        sysroot.join("usr/local/bin/strray-collector"),
    )?;
    let (ok, text) = output(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(format!("--root={}", sysroot.display()))
            .arg("/etc/systemd/system/strray-collector.service"),
    )?;
    // verify exits 0 on unknown keys; any message is a finding.
    if !ok || !text.trim().is_empty() {
        bail!("systemd-analyze verify:\n{text}");
    }
    let (ok, text) = output(
        Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(&unit),
    )?;
    let exposure = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for strray-collector.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok());
    match exposure {
        Some(e) if ok && e <= MAX_EXPOSURE => {
            eprintln!("xtask: systemd-analyze security: exposure {e} (limit {MAX_EXPOSURE})");
            Ok(())
        }
        _ => bail!("systemd-analyze security (limit {MAX_EXPOSURE}):\n{text}"),
    }
}

fn image_exists(name: &str) -> bool {
    podman()
        .args(["image", "exists", name])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `mmdebstrap … | podman import - NAME`, with `hook` run on the new root.
fn debootstrap_image(name: &str, include: &str, hook: Option<&str>, env: &[&str]) -> Result<()> {
    eprintln!("xtask: making base image {name} from Debian packages (mmdebstrap)");
    let mut deb = Command::new("mmdebstrap");
    deb.args(["--variant=minbase", "--quiet"])
        .arg(format!("--include={include}"))
        // Keep the image lean: no docs or man pages.
        .args([
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            "--dpkgopt=path-exclude=/usr/share/locale/*",
        ]);
    if let Some(h) = hook {
        deb.arg(format!("--customize-hook={h}"));
    }
    deb.args(["bookworm", "-"]).stdout(Stdio::piped());
    let mut deb = deb
        .spawn()
        .context("starting mmdebstrap (apt-get install mmdebstrap)")?;
    let stdout = deb.stdout.take().context("mmdebstrap stdout")?;
    let mut import = podman();
    import.arg("import");
    for e in env {
        import.args(["--change", &format!("ENV {e}")]);
    }
    let status = import
        .args(["-", name])
        .stdin(stdout)
        .stdout(Stdio::null())
        .status()?;
    let deb_status = deb.wait()?;
    if !deb_status.success() || !status.success() {
        bail!("making {name}: mmdebstrap {deb_status}, podman import {status}");
    }
    Ok(())
}

/// The builder base: Debian + the host's Rust toolchain laid out like the
/// official rust image (RUSTUP_HOME=/usr/local/rustup, CARGO_HOME=/usr/local/cargo).
fn builder_base() -> Result<String> {
    let sysroot = output(Command::new("rustc").args(["--print", "sysroot"]))?.1;
    let sysroot = PathBuf::from(sysroot.trim());
    let toolchain = sysroot
        .file_name()
        .and_then(|n| n.to_str())
        .context("toolchain name")?
        .to_string();
    let version = output(Command::new("rustc").arg("--version"))?.1;
    let version = version
        .split_whitespace()
        .nth(1)
        .unwrap_or("unknown")
        .to_string();
    // The agent's build tools come from the host (`cargo xtask build-agent` has
    // installed them there): the image build then skips their `cargo install`
    // (~3.5 min here), which the official rust image runs inside the build.
    let tools = crate::agent::build_tools()?;
    let name = format!(
        "localhost/strray-base-rust:{version}-wasm-pack-{}-wasm-bindgen-{}",
        crate::agent::WASM_PACK_VERSION,
        crate::agent::WASM_BINDGEN_VERSION
    );
    if image_exists(&name) {
        return Ok(name);
    }
    let copy_tools: String = tools
        .iter()
        .map(|t| format!(r#"cp "{}" "$R/usr/local/cargo/bin/";"#, t.display()))
        .collect();
    let rustup = output(Command::new("rustup").args(["which", "rustup"]))
        .ok()
        .map(|(_, p)| p.trim().to_string())
        .filter(|p| Path::new(p).exists())
        .or_else(|| {
            std::env::var("HOME")
                .ok()
                .map(|h| format!("{h}/.cargo/bin/rustup"))
        })
        .context("rustup not found")?;
    let hook = format!(
        r#"set -e; R="$1"; mkdir -p "$R/usr/local/rustup/toolchains" "$R/usr/local/cargo/bin";
tar -C "{parent}" --exclude="{tc}/share/doc" -cf - "{tc}" | tar -C "$R/usr/local/rustup/toolchains" -xf -;
printf 'version = "12"\ndefault_toolchain = "{tc}"\nprofile = "minimal"\nauto_self_update = "disable"\n' > "$R/usr/local/rustup/settings.toml";
cp "{rustup}" "$R/usr/local/cargo/bin/rustup";
for t in cargo rustc rustdoc; do ln -sf rustup "$R/usr/local/cargo/bin/$t"; done;
{copy_tools}
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then cp /usr/local/share/ca-certificates/*.crt "$R/usr/local/share/ca-certificates/"; chroot "$R" update-ca-certificates >/dev/null; fi"#,
        parent = sysroot.parent().context("sysroot parent")?.display(),
        tc = toolchain,
        rustup = rustup,
        copy_tools = copy_tools,
    );
    debootstrap_image(
        &name,
        "brotli,ca-certificates,gcc,libc6-dev,pkg-config,libssl-dev,nodejs,npm",
        Some(&hook),
        &[
            "RUSTUP_HOME=/usr/local/rustup",
            "CARGO_HOME=/usr/local/cargo",
            "PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ],
    )?;
    Ok(name)
}

/// Makes the two base images (in parallel) unless they exist; returns the
/// builder's name. `.ci/run` calls this in the background early on
/// (`cargo xtask deploy-bases`), so that on a fresh machine mmdebstrap (mostly
/// downloads and dpkg) overlaps the lints instead of adding to deploy-test.
pub fn base_images() -> Result<String> {
    let t = Instant::now();
    let builder = std::thread::scope(|s| {
        let runtime = s.spawn(|| {
            if image_exists(RUNTIME_BASE) {
                Ok(())
            } else {
                debootstrap_image(RUNTIME_BASE, "ca-certificates", None, &[])
            }
        });
        let builder = builder_base();
        runtime
            .join()
            .map_err(|_| anyhow::anyhow!("the runtime base thread panicked"))??;
        builder
    })?;
    step("base images", t);
    Ok(builder)
}

/// Builds the image from deploy/Dockerfile on locally made bases.
pub fn build_image() -> Result<String> {
    let root = crate::root();
    let builder = base_images()?;
    let t = Instant::now();
    eprintln!("xtask: podman build -f deploy/Dockerfile (release build of agent and collector)");
    let mut build = podman();
    build
        .current_dir(&root)
        // docker format: OCI images drop HEALTHCHECK.
        .args(["build", "--format", "docker", "-f", "deploy/Dockerfile"])
        // The agent and collector stages side by side (BuildKit's default).
        .args(["--jobs", "2"])
        .args(ulimit_args())
        .arg(format!("--build-arg=RUST_IMAGE={builder}"))
        .arg(format!("--build-arg=RUNTIME_IMAGE={RUNTIME_BASE}"));
    crate::run(build.args(["-t", IMAGE, "."]))?;
    eprintln!("xtask: image built in {:.0} s", t.elapsed().as_secs_f64());
    Ok(IMAGE.to_string())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn run_container_test(image: &str) -> Result<()> {
    let root = crate::root();
    let pg = TempPostgres::start()?;
    let port = free_port()?;
    crate::run(
        Command::new("node")
            .current_dir(&root)
            .args([
                "--test",
                "--test-concurrency=1",
                "tests/deploy/container.test.mjs",
            ])
            .env("STRRAY_IMAGE", image)
            .env("STRRAY_PODMAN_ARGS", json_list(&podman_global()))
            .env("STRRAY_PODMAN_RUN_ARGS", json_list(&podman_run_args()))
            .env("DATABASE_URL", &pg.url)
            .env("STRRAY_PG_HOST_FROM_CONTAINER", "10.0.2.2")
            .env("STRRAY_HOST_PORT", port.to_string())
            .env("STRRAY_HOST_PORT_LOAD", free_port()?.to_string()),
    )
}

fn json_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("[{}]", quoted.join(","))
}

/// One plain HTTP/1.0 GET on loopback: the status code, if anything answered.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Image size and cold start (container start → first 200 from /healthz).
pub fn bench(runs: u32) -> Result<()> {
    let image = if image_exists(IMAGE) {
        eprintln!("xtask: using the existing {IMAGE} (deploy-test builds it anew)");
        IMAGE.to_string()
    } else {
        build_image()?
    };
    let size = |name: &str| -> Result<u64> {
        let (ok, s) = output(podman().args(["image", "inspect", "--format", "{{.Size}}", name]))?;
        if !ok {
            bail!("podman image inspect {name}: {s}");
        }
        Ok(s.trim().parse()?)
    };
    let total = size(&image)?;
    let base = size(RUNTIME_BASE)?;
    let mut starts = Vec::new();
    for i in 0..runs {
        let port = free_port()?;
        let name = format!("strray-bench-image-{}-{i}", std::process::id());
        let t = Instant::now();
        crate::run(
            podman()
                .args(["run", "-d", "--rm", "--name", &name])
                .args(podman_run_args())
                .args(["-p", &format!("127.0.0.1:{port}:8787"), &image])
                .stdout(Stdio::null()),
        )?;
        let mut up = false;
        while t.elapsed() < Duration::from_secs(60) {
            if http_status(port, "/healthz") == Some(200) {
                up = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let _ = podman()
            .args(["rm", "-f", "-t", "0", &name])
            .stdout(Stdio::null())
            .status();
        if !up {
            bail!("{name} never answered /healthz");
        }
        starts.push(ms);
    }
    starts.sort_by(f64::total_cmp);
    let median = starts[starts.len() / 2];
    println!(
        "image {image}: {:.1} MB total, {:.1} MB above its Debian base ({RUNTIME_BASE}, {:.1} MB)",
        total as f64 / 1e6,
        total.saturating_sub(base) as f64 / 1e6,
        base as f64 / 1e6,
    );
    println!(
        "cold start (podman run → /healthz 200, SQLite, {runs} runs): median {median:.0} ms, min {:.0} ms, max {:.0} ms",
        starts[0],
        starts[starts.len() - 1]
    );
    Ok(())
}
