//! Logging setup for applications.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// The filter used when `RUST_LOG` is not set: Flagon's request log and
/// everything else at `info`.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// Prints `tracing` events (one line per request, errors with their causes)
/// to standard error.
///
/// The `RUST_LOG` variable chooses what is shown, as a comma-separated list
/// of `target=level` or a bare default level, such as
/// `RUST_LOG=warn,flagon::request=info`. An invalid `RUST_LOG` is reported
/// and the default used. Calling it twice is harmless.
///
/// ```
/// flagon::init_logging();
/// ```
pub fn init_logging() {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| DEFAULT_LOG_FILTER.to_owned());
    let (filter, problem) = match spec.parse::<Targets>() {
        Ok(filter) => (filter, None),
        Err(err) => (
            DEFAULT_LOG_FILTER.parse::<Targets>().unwrap_or_default(),
            Some(format!(
                "RUST_LOG={spec:?} is not a valid filter ({err}); using {DEFAULT_LOG_FILTER:?}"
            )),
        ),
    };
    let installed = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .try_init()
        .is_ok();
    if let (true, Some(problem)) = (installed, problem) {
        tracing::warn!("{problem}");
    }
}
