//! Input cut into statements and dot-commands, line by line, the way sqlite3 and the DuckDB
//! CLI read it: a statement ends at a `;` outside quotes and comments and may span lines; a
//! line starting with `.` between statements is a dot-command. Pure text: nothing here runs a
//! statement or knows the tables.

/// One thing to run, with the 1-based input line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A SQL statement without its closing `;`; `ordinal` counts statements from 1.
    Statement { text: String, ordinal: usize, line: usize },
    /// A dot-command line, trimmed (`.tables`, `.schema trades`).
    Command { text: String, line: usize },
}

/// Lines in, [`Item`]s out as soon as they are complete.
#[derive(Debug, Default)]
pub struct Feed {
    /// The statement being typed, from its first line on (empty between statements).
    buffer: String,
    /// The input line `buffer` starts on.
    buffer_line: usize,
    lines: usize,
    statements: usize,
}

impl Feed {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one line (without its line break) and returns what it completed.
    pub fn push_line(&mut self, line: &str) -> Vec<Item> {
        self.lines += 1;
        if self.buffer.is_empty() && line.trim_start().starts_with('.') {
            return vec![Item::Command { text: line.trim().to_owned(), line: self.lines }];
        }
        if self.buffer.is_empty() {
            self.buffer_line = self.lines;
        }
        self.buffer.push_str(line);
        self.buffer.push('\n');
        let split = split(&self.buffer);
        let mut items = Vec::with_capacity(split.statements.len());
        for piece in &split.statements {
            self.statements += 1;
            items.push(Item::Statement {
                text: self.buffer[piece.start..piece.end].trim_end().to_owned(),
                ordinal: self.statements,
                line: self.buffer_line + newlines(&self.buffer[..piece.start]),
            });
        }
        if split.rest_blank {
            self.buffer.clear();
        } else {
            self.buffer_line += newlines(&self.buffer[..split.rest_start]);
            self.buffer.drain(..split.rest_start);
        }
        items
    }

    /// Whether a statement has begun and not yet ended (the shell's continuation prompt).
    pub fn pending(&self) -> bool {
        !self.buffer.is_empty()
    }

    /// Drops the statement being typed (Ctrl+C in the shell).
    pub fn clear(&mut self) {
        self.buffer.clear();
    }

    /// At the end of a script, a last statement without its `;`.
    pub fn finish(&mut self) -> Option<Item> {
        let split = split(&self.buffer);
        let text = self.buffer.trim();
        let item = (!split.rest_blank && !text.is_empty()).then(|| {
            let start = self.buffer.len() - self.buffer.trim_start().len();
            self.statements += 1;
            Item::Statement {
                text: text.to_owned(),
                ordinal: self.statements,
                line: self.buffer_line + newlines(&self.buffer[..start]),
            }
        });
        self.buffer.clear();
        item
    }
}

fn newlines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count()
}

/// A statement's place in the text: from its first token up to (not including) its `;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub start: usize,
    pub end: usize,
}

/// The complete statements of a text, and where the unfinished rest begins.
#[derive(Debug, PartialEq, Eq)]
pub struct Split {
    pub statements: Vec<Piece>,
    /// Byte offset just after the last `;` (0 if none).
    pub rest_start: usize,
    /// The rest holds only white space and closed comments.
    pub rest_blank: bool,
}

/// Cuts `text` at each `;` that is outside a string ('…', E'…' with backslash escapes), a
/// quoted identifier ("…", `…`), a `--` comment or a (nested) `/* */` comment. Empty
/// statements (`;;`) are dropped. Indexing by byte is safe: every delimiter is ASCII, and no
/// byte of a multi-byte UTF-8 character is.
pub fn split(text: &str) -> Split {
    let bytes = text.as_bytes();
    let mut statements = Vec::new();
    let mut first_token: Option<usize> = None;
    let mut rest_start = 0;
    let mut open = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        match b {
            b'-' if next == Some(b'-') => {
                i = bytes[i..].iter().position(|&c| c == b'\n').map_or(bytes.len(), |n| i + n + 1);
            }
            b'/' if next == Some(b'*') => {
                let mut depth = 1usize;
                i += 2;
                while depth > 0 && i < bytes.len() {
                    match (bytes[i], bytes.get(i + 1).copied()) {
                        (b'/', Some(b'*')) => {
                            depth += 1;
                            i += 2;
                        }
                        (b'*', Some(b'/')) => {
                            depth -= 1;
                            i += 2;
                        }
                        _ => i += 1,
                    }
                }
                open = depth > 0;
            }
            b'\'' | b'"' | b'`' => {
                first_token.get_or_insert(i);
                let backslash = b == b'\''
                    && i > 0
                    && matches!(bytes[i - 1], b'e' | b'E')
                    && (i < 2 || !is_word_byte(bytes[i - 2]));
                let mut j = i + 1;
                open = true;
                while j < bytes.len() {
                    let c = bytes[j];
                    // A backslash escape in an E-string, or a doubled quote.
                    if (backslash && c == b'\\') || (c == b && bytes.get(j + 1) == Some(&b)) {
                        j += 2;
                    } else if c == b {
                        j += 1;
                        open = false;
                        break;
                    } else {
                        j += 1;
                    }
                }
                i = j;
            }
            b';' => {
                if let Some(start) = first_token.take() {
                    statements.push(Piece { start, end: i });
                }
                i += 1;
                rest_start = i;
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                first_token.get_or_insert(i);
                i += 1;
            }
        }
    }
    Split { statements, rest_start, rest_blank: first_token.is_none() && !open }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &str) -> Vec<&str> {
        split(input).statements.iter().map(|p| input[p.start..p.end].trim_end()).collect()
    }

    #[test]
    fn semicolons_inside_strings_identifiers_and_comments_do_not_end_a_statement() {
        let input = "select 'a;b', \"c;d\", `e;f` -- g;h\n from t /* i; /* j; */ k; */;\n\
                     select 'it''s;', E'\\';' ;;  select 3;";
        assert_eq!(
            texts(input),
            vec![
                "select 'a;b', \"c;d\", `e;f` -- g;h\n from t /* i; /* j; */ k; */",
                "select 'it''s;', E'\\';'",
                "select 3",
            ]
        );
        assert!(split(input).rest_blank);
    }

    #[test]
    fn the_rest_is_blank_only_without_tokens_or_open_quotes() {
        assert!(split("select 1; -- done").rest_blank);
        assert!(split("  /* closed */ ").rest_blank);
        assert!(!split("select 1; select").rest_blank);
        assert!(!split("/* open").rest_blank);
        assert!(!split("select 'open;").rest_blank);
        assert_eq!(split("select 1; select").rest_start, 9);
        // `name'…'` is not an E-string: the backslash is plain text.
        assert_eq!(texts("select some'\\';"), vec!["select some'\\'"]);
    }

    #[test]
    fn a_feed_yields_statements_as_they_end_with_their_lines() {
        let mut feed = Feed::new();
        assert_eq!(
            feed.push_line(".tables"),
            vec![Item::Command { text: ".tables".into(), line: 1 }]
        );
        assert!(feed.push_line("").is_empty());
        assert!(feed.push_line("select 1,").is_empty());
        assert!(feed.pending());
        assert_eq!(
            feed.push_line("  2; select 'x;"),
            vec![Item::Statement { text: "select 1,\n  2".into(), ordinal: 1, line: 3 }]
        );
        // A line starting with '.' inside a statement is part of it.
        assert!(feed.push_line(".y'").is_empty());
        assert_eq!(
            feed.push_line(";"),
            vec![Item::Statement { text: "select 'x;\n.y'".into(), ordinal: 2, line: 4 }]
        );
        assert!(!feed.pending());
        assert!(feed.push_line("-- a comment only").is_empty());
        assert!(!feed.pending());
        assert!(feed.push_line("").is_empty());
        assert!(feed.push_line("  select 3").is_empty());
        assert_eq!(
            feed.finish(),
            Some(Item::Statement { text: "select 3".into(), ordinal: 3, line: 9 })
        );
        assert_eq!(feed.finish(), None);
    }

    #[test]
    fn ctrl_c_drops_the_statement_being_typed() {
        let mut feed = Feed::new();
        assert!(feed.push_line("select").is_empty());
        feed.clear();
        assert!(!feed.pending());
        assert_eq!(feed.push_line(".quit"), vec![Item::Command { text: ".quit".into(), line: 2 }]);
    }
}
