//! The `sqlite`, `postgres` and `mysql` features: a build opens only the
//! databases it has a backend for, and the URL of another is refused with
//! an error that names the feature to enable (never a panic). Run with a
//! backend off (`--no-default-features --features postgres`) to see the
//! refusals; with every backend on there is nothing to refuse.

use flagon_orm::{Db, Dialect, OrmError};

#[test]
fn each_dialect_knows_its_feature_and_whether_it_is_compiled_in() {
    assert_eq!(Dialect::Sqlite.feature(), "sqlite");
    assert_eq!(Dialect::Postgres.feature(), "postgres");
    assert_eq!(Dialect::MySql.feature(), "mysql");
    assert_eq!(Dialect::Sqlite.is_available(), cfg!(feature = "sqlite"));
    assert_eq!(Dialect::Postgres.is_available(), cfg!(feature = "postgres"));
    assert_eq!(Dialect::MySql.is_available(), cfg!(feature = "mysql"));
}

#[tokio::test]
async fn the_url_of_a_backend_left_out_names_the_feature_to_enable() {
    // Nothing listens on port 1: were the backend compiled in, connecting
    // would fail differently (and not at once), so the error below can only
    // come from the missing feature.
    let urls = [
        ("sqlite::memory:", Dialect::Sqlite),
        ("postgres://app:s3cret@127.0.0.1:1/app", Dialect::Postgres),
        ("postgresql://app@127.0.0.1:1/app", Dialect::Postgres),
        ("mysql://app:s3cret@127.0.0.1:1/app", Dialect::MySql),
        ("mariadb://app@127.0.0.1:1/app", Dialect::MySql),
    ];
    for (url, dialect) in urls {
        if dialect.is_available() {
            continue;
        }
        let err = Db::connect(url)
            .await
            .expect_err("a backend that is not compiled in cannot connect");
        assert!(matches!(err, OrmError::InvalidUrl { .. }), "{url}: {err:?}");
        let shown = err.to_string();
        let scheme = url.split(':').next().unwrap_or_default();
        assert!(shown.contains(scheme), "{shown}");
        assert!(
            shown.contains(&format!(
                "this build of Flagon has no {} support: enable the `{}` feature of flagon",
                dialect.name(),
                dialect.feature()
            )),
            "{shown}"
        );
        assert!(
            !shown.contains("s3cret"),
            "the password is not shown: {shown}"
        );
    }
}
