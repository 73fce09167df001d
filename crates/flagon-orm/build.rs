//! Names for the combinations of backend features the code tests often:
//! `cfg(flagon_sqlx)` when a backend on sqlx (SQLite, MySQL/MariaDB) is
//! compiled in, `cfg(flagon_no_backend)` when no backend is.

fn main() {
    // Features are part of the build's key: a change of them runs this again.
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(flagon_sqlx)");
    println!("cargo::rustc-check-cfg=cfg(flagon_no_backend)");
    let on = |feature: &str| std::env::var_os(format!("CARGO_FEATURE_{feature}")).is_some();
    let (sqlite, postgres, mysql) = (on("SQLITE"), on("POSTGRES"), on("MYSQL"));
    if sqlite || mysql {
        println!("cargo::rustc-cfg=flagon_sqlx");
    }
    if !(sqlite || postgres || mysql) {
        println!("cargo::rustc-cfg=flagon_no_backend");
    }
}
