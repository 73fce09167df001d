//! The hello example: the smallest app, and a guestbook page that shows a
//! template, a form with validation, a session counter and flash messages.

use std::sync::{Arc, Mutex};

use flagon::prelude::*;
use serde::{Deserialize, Serialize};

/// One signature in the guestbook.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Entry {
    /// Who signed.
    pub name: String,
    /// What they wrote.
    pub message: String,
}

/// The guestbook, shared by all requests.
#[derive(Clone, Default)]
pub struct Guestbook(Arc<Mutex<Vec<Entry>>>);

impl Guestbook {
    fn entries(&self) -> Vec<Entry> {
        self.0
            .lock()
            .map(|entries| entries.clone())
            .unwrap_or_default()
    }

    fn sign(&self, entry: Entry) {
        if let Ok(mut entries) = self.0.lock() {
            entries.push(entry);
        }
    }
}

async fn hello(Path(name): Path<String>) -> String {
    format!("Hello, {name}!")
}

async fn guestbook(session: Session, State(book): State<Guestbook>) -> Result<Template> {
    let visits: u32 = session.get("visits").unwrap_or(0) + 1;
    session.insert("visits", visits)?;
    Ok(render(
        "guestbook.html",
        context! { entries => book.entries(), visits => visits },
    ))
}

async fn sign(
    flash: Flash,
    State(book): State<Guestbook>,
    Form(entry): Form<Entry>,
) -> Result<Redirect> {
    let entry = Entry {
        name: entry.name.trim().to_owned(),
        message: entry.message.trim().to_owned(),
    };
    if entry.name.is_empty() || entry.message.is_empty() {
        flash.error("Please give both your name and a message.")?;
    } else {
        flash.success(format!("Thank you for signing, {}!", entry.name))?;
        book.sign(entry);
    }
    Ok(Redirect::to("/guestbook"))
}

/// The app: `/`, `/hello/<name>` and `/guestbook` (GET shows, POST signs).
pub fn app() -> App {
    App::new()
        .root(env!("CARGO_MANIFEST_DIR"))
        .state(Guestbook::default())
        .route("/", get(|| async { "Hello, world!" }).name("index"))
        .route("/hello/<name>", get(hello).name("hello"))
        .route("/guestbook", get(guestbook).post(sign).name("guestbook"))
}
