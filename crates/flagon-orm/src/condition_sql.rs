//! The small, portable SQL expression language of constraint conditions
//! (`#[model(constraints = [check(condition = "price >= 0", ..)])]`).
//!
//! Grammar (keywords in any case):
//!
//! ```text
//! expr  := and ("OR" and)*
//! and   := not ("AND" not)*
//! not   := "NOT" not | cmp
//! cmp   := sum [ op sum | "IS" ["NOT"] "NULL" | ["NOT"] "IN" "(" sum ("," sum)* ")" ]
//! op    := "=" | "<>" | "!=" | "<" | "<=" | ">" | ">="
//! sum   := unary (("+" | "-" | "*" | "/") unary)*
//! unary := "-" unary | atom
//! atom  := field | number | 'string' | TRUE | FALSE | NULL | "(" expr ")"
//! ```
//!
//! Fields are named by their Rust names; they become quoted columns when
//! the condition is written into DDL. Strings may not hold a backslash
//! (MySQL would read it as an escape). This file has no dependency on the
//! rest of the crate: the derive macro includes it too, to check
//! conditions at compile time.

/// One token of a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// A field name.
    Ident(String),
    /// A keyword, upper case.
    Keyword(&'static str),
    /// A number, as written.
    Number(String),
    /// A string literal's value (unescaped).
    Str(String),
    /// An operator (`!=` is kept as `<>`).
    Op(&'static str),
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `,`.
    Comma,
}

const KEYWORDS: [&str; 8] = ["AND", "OR", "NOT", "IS", "NULL", "IN", "TRUE", "FALSE"];

fn tokenize(src: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let upper = word.to_ascii_uppercase();
            match KEYWORDS.iter().find(|k| **k == upper) {
                Some(keyword) => out.push(Token::Keyword(keyword)),
                None => out.push(Token::Ident(word)),
            }
        } else if c.is_ascii_digit() {
            let start = i;
            let mut dot = false;
            while i < chars.len() && (chars[i].is_ascii_digit() || (chars[i] == '.' && !dot)) {
                dot |= chars[i] == '.';
                i += 1;
            }
            if i < chars.len() && (chars[i].is_ascii_alphabetic() || chars[i] == '_') {
                return Err(format!(
                    "malformed number near `{}`",
                    chars[start..=i].iter().collect::<String>()
                ));
            }
            out.push(Token::Number(chars[start..i].iter().collect()));
        } else if c == '\'' {
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("unterminated string literal".to_owned()),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        value.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        return Err(
                            "a backslash in a string is not portable (MySQL reads it as an escape)"
                                .to_owned(),
                        )
                    }
                    Some(&other) => {
                        value.push(other);
                        i += 1;
                    }
                }
            }
            out.push(Token::Str(value));
        } else {
            let next = chars.get(i + 1).copied();
            let (op, len) = match (c, next) {
                ('<', Some('=')) => (Token::Op("<="), 2),
                ('>', Some('=')) => (Token::Op(">="), 2),
                ('<', Some('>')) | ('!', Some('=')) => (Token::Op("<>"), 2),
                ('<', _) => (Token::Op("<"), 1),
                ('>', _) => (Token::Op(">"), 1),
                ('=', _) => (Token::Op("="), 1),
                ('+', _) => (Token::Op("+"), 1),
                ('-', _) => (Token::Op("-"), 1),
                ('*', _) => (Token::Op("*"), 1),
                ('/', _) => (Token::Op("/"), 1),
                ('(', _) => (Token::Open, 1),
                (')', _) => (Token::Close, 1),
                (',', _) => (Token::Comma, 1),
                _ => return Err(format!("unexpected character `{c}`")),
            };
            out.push(op);
            i += len;
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "the end".to_owned(),
            Some(token) => format!("`{}`", render_token(token, &mut |name| name.to_owned())),
        }
    }

    fn expr(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > 64 {
            return Err("condition nested too deeply".to_owned());
        }
        self.and()?;
        while self.eat(&Token::Keyword("OR")) {
            self.and()?;
        }
        self.depth -= 1;
        Ok(())
    }

    fn and(&mut self) -> Result<(), String> {
        self.not()?;
        while self.eat(&Token::Keyword("AND")) {
            self.not()?;
        }
        Ok(())
    }

    fn not(&mut self) -> Result<(), String> {
        if self.eat(&Token::Keyword("NOT")) {
            return self.not();
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<(), String> {
        self.sum()?;
        match self.peek() {
            Some(Token::Op(op)) if matches!(*op, "=" | "<>" | "<" | "<=" | ">" | ">=") => {
                self.at += 1;
                self.sum()
            }
            Some(Token::Keyword("IS")) => {
                self.at += 1;
                self.eat(&Token::Keyword("NOT"));
                if self.eat(&Token::Keyword("NULL")) {
                    Ok(())
                } else {
                    Err(format!("expected NULL after IS, found {}", self.describe()))
                }
            }
            Some(Token::Keyword("NOT")) | Some(Token::Keyword("IN")) => {
                self.eat(&Token::Keyword("NOT"));
                if !self.eat(&Token::Keyword("IN")) {
                    return Err(format!("expected IN, found {}", self.describe()));
                }
                if !self.eat(&Token::Open) {
                    return Err(format!("expected `(` after IN, found {}", self.describe()));
                }
                self.sum()?;
                while self.eat(&Token::Comma) {
                    self.sum()?;
                }
                if self.eat(&Token::Close) {
                    Ok(())
                } else {
                    Err(format!("expected `)`, found {}", self.describe()))
                }
            }
            _ => Ok(()),
        }
    }

    fn sum(&mut self) -> Result<(), String> {
        self.unary()?;
        while matches!(self.peek(), Some(Token::Op("+" | "-" | "*" | "/"))) {
            self.at += 1;
            self.unary()?;
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<(), String> {
        if self.eat(&Token::Op("-")) {
            return self.unary();
        }
        match self.peek() {
            Some(Token::Ident(_) | Token::Number(_) | Token::Str(_))
            | Some(Token::Keyword("TRUE" | "FALSE" | "NULL")) => {
                self.at += 1;
                Ok(())
            }
            Some(Token::Open) => {
                self.at += 1;
                self.expr()?;
                if self.eat(&Token::Close) {
                    Ok(())
                } else {
                    Err(format!("expected `)`, found {}", self.describe()))
                }
            }
            _ => Err(format!(
                "expected a field or a value, found {}",
                self.describe()
            )),
        }
    }
}

/// Reads a condition: its tokens, or what is wrong with it.
pub(crate) fn parse(src: &str) -> Result<Vec<Token>, String> {
    let tokens = tokenize(src)?;
    if tokens.is_empty() {
        return Err("the condition is empty".to_owned());
    }
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
        depth: 0,
    };
    parser.expr()?;
    if parser.at < tokens.len() {
        return Err(format!("unexpected {}", parser.describe()));
    }
    Ok(tokens)
}

/// The field names a condition uses, in order (repeats kept).
pub(crate) fn fields(tokens: &[Token]) -> Vec<&str> {
    tokens
        .iter()
        .filter_map(|token| match token {
            Token::Ident(name) => Some(name.as_str()),
            _ => None,
        })
        .collect()
}

fn render_token(token: &Token, field: &mut dyn FnMut(&str) -> String) -> String {
    match token {
        Token::Ident(name) => field(name),
        Token::Keyword(keyword) => (*keyword).to_owned(),
        Token::Number(number) => number.clone(),
        Token::Str(value) => format!("'{}'", value.replace('\'', "''")),
        Token::Op(op) => (*op).to_owned(),
        Token::Open => "(".to_owned(),
        Token::Close => ")".to_owned(),
        Token::Comma => ",".to_owned(),
    }
}

/// The condition as text, each field written by `field`.
pub(crate) fn render(tokens: &[Token], field: &mut dyn FnMut(&str) -> String) -> String {
    let mut out = String::new();
    let mut previous: Option<&Token> = None;
    for token in tokens {
        let tight = matches!(token, Token::Close | Token::Comma)
            || matches!(previous, Some(Token::Open) | None);
        if !tight {
            out.push(' ');
        }
        out.push_str(&render_token(token, field));
        previous = Some(token);
    }
    out
}

/// The condition as text with each field written by `field` and each
/// string literal by `string` (as a placeholder, for binding).
pub(crate) fn render_bound(
    tokens: &[Token],
    field: &mut dyn FnMut(&str) -> String,
    string: &mut dyn FnMut(&str) -> String,
) -> String {
    let mut out = String::new();
    for (index, token) in tokens.iter().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        match token {
            Token::Str(value) => out.push_str(&string(value)),
            other => out.push_str(&render_token(other, field)),
        }
    }
    out
}
