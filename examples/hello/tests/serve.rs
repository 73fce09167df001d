//! The example binary as a user runs it: `FLAGON_ADDR` moves it, it serves
//! over a real socket, and SIGTERM stops it cleanly.

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
    let child = Command::new(env!("CARGO_BIN_EXE_hello"))
        .env("FLAGON_ADDR", format!("127.0.0.1:{port}"))
        .env_remove("FLAGON_SECRET_KEY")
        .env_remove("FLAGON_DEBUG")
        .stdout(Stdio::null())
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
}
