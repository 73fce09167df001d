//! The example binary as a user runs it: it migrates its database, serves
//! over a real socket where `FLAGON_ADDR` says, and SIGTERM stops it
//! cleanly; `runserver` alone warns about unapplied migrations.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the server if the test fails half-way.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[cfg(unix)]
#[test]
fn flagon_addr_moves_the_app_and_sigterm_stops_it() {
    let port = free_port();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let child = Command::new(env!("CARGO_BIN_EXE_hello"))
        .current_dir(dir.path())
        .env("FLAGON_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("FLAGON_SECRET_KEY")
        .env_remove("FLAGON_DEBUG")
        .env_remove("FLAGON_DATABASE_URL")
        .env_remove("FLAGON_DATABASE__URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the hello binary starts");
    let mut server = Server(child);

    let deadline = Instant::now() + Duration::from_secs(30);
    let response = loop {
        match get(port, "/") {
            Ok(response) => break response,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(err) => panic!("the example never answered on port {port}: {err}"),
        }
    };
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("Hello, world!"), "{response}");
    let page = get(port, "/guestbook").unwrap();
    assert!(page.contains("<h1>Guestbook</h1>"), "{page}");

    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = server.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        exit.success(),
        "the server exits cleanly on SIGTERM: {exit:?}"
    );
    assert!(get(port, "/").is_err(), "nothing listens after shutdown");
    let mut printed = String::new();
    if let Some(mut stdout) = server.0.stdout.take() {
        stdout.read_to_string(&mut printed).expect("the output");
    }
    assert!(
        printed.contains("Applying guestbook.0001_initial... OK"),
        "{printed}"
    );
    assert!(
        dir.path().join("db.sqlite3").exists(),
        "the database is made in the current folder"
    );
}

#[cfg(unix)]
#[test]
fn runserver_warns_about_unapplied_migrations() {
    let port = free_port();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let child = Command::new(env!("CARGO_BIN_EXE_hello"))
        .arg("runserver")
        .current_dir(dir.path())
        .env("FLAGON_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("FLAGON_DATABASE_URL")
        .env_remove("FLAGON_DATABASE__URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the hello binary starts");
    let mut server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(port, "/").is_err() {
        assert!(Instant::now() < deadline, "the example never answered");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.0.kill();
    let _ = server.0.wait();
    let mut printed = String::new();
    if let Some(mut stdout) = server.0.stdout.take() {
        stdout.read_to_string(&mut printed).expect("the output");
    }
    assert!(
        printed.contains(
            "warning: you have 1 unapplied migration: guestbook.0001_initial. \
             The app may not work until you run `migrate`."
        ),
        "{printed}"
    );
}
