//! The questions `makemigrations` asks in a terminal.

use std::io::{BufRead, Write};

use flagon_orm::migrations::{FieldState, GivenAnswers, ModelState, Questioner};
use flagon_orm::FieldDefault;

/// Asks on `input`/`output`, after the answers given on the command line.
pub(crate) struct Interactive<R, W> {
    pub(crate) given: GivenAnswers,
    pub(crate) input: R,
    pub(crate) output: W,
}

impl<R: BufRead, W: Write> Interactive<R, W> {
    fn ask(&mut self, question: &str) -> Option<String> {
        let _ = write!(self.output, "{question}");
        let _ = self.output.flush();
        let mut line = String::new();
        match self.input.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim().to_owned()),
        }
    }

    fn yes(&mut self, question: &str) -> bool {
        matches!(
            self.ask(&format!("{question} [y/N] ")).as_deref(),
            Some("y" | "Y" | "yes" | "Yes")
        )
    }
}

/// Parses a default typed at the prompt: `0`, `-2.5`, `true`, `"text"` or
/// `'text'`.
pub(crate) fn parse_literal(text: &str) -> Result<FieldDefault, String> {
    let text = text.trim();
    let quoted = |q: char| text.len() >= 2 && text.starts_with(q) && text.ends_with(q);
    if quoted('"') || quoted('\'') {
        return Ok(FieldDefault::Str(text[1..text.len() - 1].to_owned().into()));
    }
    match text {
        "true" => return Ok(FieldDefault::Bool(true)),
        "false" => return Ok(FieldDefault::Bool(false)),
        _ => {}
    }
    if let Ok(value) = text.parse::<i64>() {
        return Ok(FieldDefault::Int(value));
    }
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(FieldDefault::Float(value)),
        _ => Err(format!(
            "`{text}` is not a value: type a number, true, false, or text in quotes"
        )),
    }
}

impl<R: BufRead, W: Write> Questioner for Interactive<R, W> {
    fn ask_rename_model(
        &mut self,
        app: &str,
        old: &ModelState,
        new: &ModelState,
        similar: bool,
    ) -> bool {
        if self.given.ask_rename_model(app, old, new, similar) {
            return true;
        }
        similar
            && self.yes(&format!(
                "Was the model {app}.{} renamed to {}?",
                old.name, new.name
            ))
    }

    fn ask_rename_field(
        &mut self,
        app: &str,
        model: &str,
        old: &FieldState,
        new: &FieldState,
        similar: bool,
    ) -> bool {
        if self.given.ask_rename_field(app, model, old, new, similar) {
            return true;
        }
        similar
            && self.yes(&format!(
                "Was {model}.{} renamed to {model}.{} ({:?})?",
                old.name, new.name, new.kind
            ))
    }

    fn ask_not_null_default(
        &mut self,
        app: &str,
        model: &str,
        field: &FieldState,
        adding: bool,
    ) -> Option<FieldDefault> {
        if let Some(value) = self.given.ask_not_null_default(app, model, field, adding) {
            return Some(value);
        }
        let why = if adding {
            "is added as NOT NULL without a default"
        } else {
            "no longer allows NULL and has no default"
        };
        let _ = writeln!(
            self.output,
            "Field {model}.{} ({:?}) {why}; the rows already in the table need a value.",
            field.name, field.kind
        );
        loop {
            let answer = self.ask("Value to use once (empty to leave it unanswered): ")?;
            if answer.is_empty() {
                return None;
            }
            match parse_literal(&answer) {
                Ok(value) if value.fits(field.kind) => return Some(value),
                Ok(_) => {
                    let _ = writeln!(
                        self.output,
                        "That value does not suit the field's type ({:?}).",
                        field.kind
                    );
                }
                Err(message) => {
                    let _ = writeln!(self.output, "{message}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flagon_orm::FieldKind;

    #[test]
    fn literals_parse() {
        assert_eq!(parse_literal("0"), Ok(FieldDefault::Int(0)));
        assert_eq!(parse_literal(" -2.5 "), Ok(FieldDefault::Float(-2.5)));
        assert_eq!(parse_literal("true"), Ok(FieldDefault::Bool(true)));
        assert_eq!(
            parse_literal("'it''s'"),
            Ok(FieldDefault::Str("it''s".into()))
        );
        assert_eq!(parse_literal("\"\""), Ok(FieldDefault::Str("".into())));
        assert!(parse_literal("draft").is_err());
        assert!(parse_literal("NaN").is_err());
    }

    #[test]
    fn asks_until_a_fitting_value_and_answers_renames() {
        let mut output = Vec::new();
        let mut questioner = Interactive {
            given: GivenAnswers::default(),
            input: "yes\n\"x\"\nwhat\n42\n".as_bytes(),
            output: &mut output,
        };
        let old = FieldState::new("text", FieldKind::Text);
        let new = FieldState::new("body", FieldKind::Text);
        assert!(questioner.ask_rename_field("polls", "Question", &old, &new, true));
        let votes = FieldState::new("votes", FieldKind::Integer);
        assert_eq!(
            questioner.ask_not_null_default("polls", "Question", &votes, true),
            Some(FieldDefault::Int(42))
        );
        // Not similar: not asked at all.
        assert!(!questioner.ask_rename_field("polls", "Question", &old, &votes, false));
        let text = String::from_utf8(output).expect("utf-8");
        assert!(
            text.contains("Was Question.text renamed to Question.body (Text)? [y/N]"),
            "{text}"
        );
        assert!(
            text.contains("That value does not suit the field's type (Integer)."),
            "{text}"
        );
        assert!(text.contains("is not a value"), "{text}");
    }
}
