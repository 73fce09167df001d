//! Heap allocations per request on the hot paths, counted by a global
//! allocator: `/plaintext` and `/json` through the whole app (routing,
//! middleware, security headers, Host check), as the server calls it.
//! The budgets are the counts measured when they were set: a change that
//! allocates more fails here, and one that allocates less should lower them.

use std::alloc::System;

use flagon::testing::test_settings;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use tower::Service;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn request(path: &str) -> flagon::http::Request<http_body_util::Empty<bytes::Bytes>> {
    flagon::http::Request::get(path)
        .header("host", "127.0.0.1:8080")
        .body(http_body_util::Empty::new())
        .expect("a request")
}

/// Allocations per request, averaged over many, after a warm-up.
async fn per_request(service: &mut flagon::AppService, path: &str) -> f64 {
    for _ in 0..10 {
        let _ = service.call(request(path)).await;
    }
    const ROUNDS: usize = 200;
    let requests: Vec<_> = (0..ROUNDS).map(|_| request(path)).collect();
    let region = Region::new(GLOBAL);
    for request in requests {
        let response = service.call(request).await;
        drop(response);
    }
    let change = region.change();
    (change.allocations + change.reallocations) as f64 / ROUNDS as f64
}

#[tokio::test(flavor = "current_thread")]
async fn the_hot_paths_stay_within_their_allocation_budgets() {
    let db = flagon::orm::Db::connect("sqlite::memory:")
        .await
        .expect("SQLite in memory");
    let mut settings = test_settings();
    settings.debug = false;
    let mut service = tfb::app(db).settings(settings).build().expect("the app");
    let plaintext = per_request(&mut service, "/plaintext").await;
    let json = per_request(&mut service, "/json").await;
    println!("allocations per request: /plaintext {plaintext}, /json {json}");
    assert!(
        plaintext <= PLAINTEXT_BUDGET,
        "/plaintext: {plaintext} allocations per request (budget {PLAINTEXT_BUDGET})"
    );
    assert!(
        json <= JSON_BUDGET,
        "/json: {json} allocations per request (budget {JSON_BUDGET})"
    );
}

const PLAINTEXT_BUDGET: f64 = 13.0;
const JSON_BUDGET: f64 = 15.0;
