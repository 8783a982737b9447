//! Mistakes found in a document (a scenario or provider file), each with file, line,
//! column and a hint, rendered either as plain `file:line:col: message`
//! lines (logs, tests) or as `miette` snippets with the offending text
//! underlined (a terminal).

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};

use super::tree::{Node, Origin};

/// One mistake at one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong, in one line.
    pub message: String,
    /// What to write instead, when we can tell.
    pub hint: Option<String>,
    /// Where it is.
    pub origin: Origin,
}

impl Problem {
    /// A problem at `node`.
    pub fn at(node: &Node, message: impl Into<String>, hint: Option<String>) -> Problem {
        Problem {
            message: message.into(),
            hint,
            origin: node.origin.clone(),
        }
    }

    /// `(line, column)` when the problem is in the file.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        match self.origin {
            Origin::File { line, column, .. } => Some((line, column)),
            Origin::Set(_) => None,
        }
    }
}

/// Every mistake found in one file (never empty when returned as an error).
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: String,
    /// The file's text, for snippets.
    pub source: String,
    /// The mistakes, in file order.
    pub problems: Vec<Problem>,
}

impl Diagnostic {
    /// A diagnostic with one problem that has no place in the file
    /// (unreadable file, for instance).
    pub fn whole_file(file: &str, message: impl Into<String>, hint: Option<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_string(),
            source: String::new(),
            problems: vec![Problem {
                message: message.into(),
                hint,
                origin: Origin::File {
                    line: 1,
                    column: 1,
                    offset: 0,
                    len: 0,
                },
            }],
        }
    }

    /// One `file:line:col: error: message` line per problem, each followed
    /// by an indented `hint:` line when there is one.
    pub fn render_plain(&self) -> String {
        let mut out = String::new();
        for p in &self.problems {
            match &p.origin {
                Origin::File { line, column, .. } => out.push_str(&format!(
                    "{}:{line}:{column}: error: {}\n",
                    self.file, p.message
                )),
                Origin::Set(setting) => {
                    out.push_str(&format!("--set {setting}: error: {}\n", p.message))
                }
            }
            if let Some(hint) = &p.hint {
                out.push_str(&format!("  hint: {hint}\n"));
            }
        }
        out
    }

    /// The problems as `miette` snippets (the line, the offending text
    /// underlined, the hint as help), in color when `color`.
    pub fn render_fancy(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
        let mut out = String::new();
        for p in &self.problems {
            let snippet = Snippet::new(self, p);
            if handler.render_report(&mut out, &snippet).is_err() {
                // Rendering into a String cannot fail in practice; the plain
                // form still says everything.
                out.push_str(&self.render_plain());
                break;
            }
        }
        let n = self.problems.len();
        out.push_str(&format!(
            "{n} mistake{} in {}\n",
            if n == 1 { "" } else { "s" },
            self.file
        ));
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render_plain().trim_end())
    }
}

impl std::error::Error for Diagnostic {}

/// One problem in the shape `miette` renders.
#[derive(Debug)]
struct Snippet {
    message: String,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    span: Option<SourceSpan>,
}

impl Snippet {
    fn new(diag: &Diagnostic, problem: &Problem) -> Snippet {
        match &problem.origin {
            Origin::File { offset, len, .. } if !diag.source.is_empty() => {
                let offset = (*offset).min(diag.source.len());
                // A zero-length span still gets a caret under its column.
                let len = (*len).min(diag.source.len() - offset);
                Snippet {
                    message: problem.message.clone(),
                    help: problem.hint.clone(),
                    source: Some(
                        NamedSource::new(diag.file.clone(), diag.source.clone())
                            .with_language("yaml"),
                    ),
                    span: Some(SourceSpan::new(offset.into(), len)),
                }
            }
            Origin::File { line, column, .. } => Snippet {
                message: format!("{}:{line}:{column}: {}", diag.file, problem.message),
                help: problem.hint.clone(),
                source: None,
                span: None,
            },
            Origin::Set(setting) => Snippet {
                message: format!("--set {setting}: {}", problem.message),
                help: problem.hint.clone(),
                source: None,
                span: None,
            },
        }
    }
}

impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Snippet {}

impl miette::Diagnostic for Snippet {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.span?;
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(Some("here".into()), span),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::parse_yaml;

    #[test]
    fn plain_and_fancy_name_file_line_column_and_hint() {
        let text = "target: x\nrate: 10 sec\n";
        let root = parse_yaml(text).unwrap();
        let node = root.get("rate").unwrap();
        let diag = Diagnostic {
            file: "s.yaml".into(),
            source: text.into(),
            problems: vec![Problem::at(node, "bad duration", Some("write 10s".into()))],
        };
        let plain = diag.render_plain();
        assert_eq!(
            plain,
            "s.yaml:2:7: error: bad duration\n  hint: write 10s\n"
        );
        let fancy = diag.render_fancy(false);
        assert!(fancy.contains("s.yaml:2:7"), "{fancy}");
        assert!(fancy.contains("write 10s"), "{fancy}");
        assert!(fancy.contains("rate: 10 sec"), "{fancy}");
    }
}
