//! `cargo run -p hello`, then open http://127.0.0.1:8000 (`FLAGON_ADDR` moves it).

#[tokio::main]
async fn main() -> flagon::Result<()> {
    flagon::init_logging();
    hello::app().serve("127.0.0.1:8000").await
}
