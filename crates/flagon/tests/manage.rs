//! The management commands.

use std::process::ExitCode;

use flagon::prelude::*;
use flagon::testing::test_settings;

fn app() -> App {
    App::new()
        .settings(test_settings())
        .route("/", get(|| async { "home" }).name("index"))
        .route(
            "/post/<int:id>",
            get(|| async { "post" })
                .post(|| async { "saved" })
                .name("post"),
        )
}

async fn run(app: App, args: &[&str]) -> (ExitCode, String) {
    let mut out = Vec::new();
    let mut all = vec!["manage"];
    all.extend_from_slice(args);
    let code = flagon::run_command(app, all, &mut out).await;
    (code, String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn routes_lists_methods_patterns_and_names() {
    let (code, out) = run(app(), &["routes"]).await;
    assert_eq!(code, ExitCode::SUCCESS);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("GET,HEAD,OPTIONS")
            && l.contains(" /  ")
            && l.ends_with("index")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("POST") && l.contains("/post/<int:id>") && l.ends_with("post")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("/static/<path:filename>") && l.ends_with("static")),
        "{out}"
    );
}

#[tokio::test]
async fn check_reports_problems_and_a_broken_app_fails() {
    let (code, out) = run(app(), &["check"]).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(out.contains("System check identified"), "{out}");
    assert!(out.contains("templates folder"), "{out}");

    let broken = App::new()
        .settings(test_settings())
        .route("/a", get(|| async { "" }).name("same"))
        .route("/b", get(|| async { "" }).name("same"));
    let (code, out) = run(broken, &["check"]).await;
    assert_eq!(code, ExitCode::FAILURE);
    assert!(out.contains("two routes are named `same`"), "{out}");
}

#[tokio::test]
async fn unknown_commands_are_usage_errors() {
    let (code, out) = run(app(), &["frobnicate"]).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(out.contains("frobnicate"), "{out}");
}
