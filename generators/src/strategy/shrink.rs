//! Shrinking: [`EventTree`] is the proptest [`ValueTree`] of a generated
//! event, whose every simplification (drop an optional property, shorten an
//! array to a legal length, simplify a free-text or plain leaf) stays
//! schema-valid; [`shrink`] drives it against a failing check.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use proptest::strategy::ValueTree;
use serde_json::Value;

use super::compile::{shape_matches, CompiledType, Hint, Node};

/// A path step inside a JSON value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Seg {
    Key(String),
    Idx(usize),
}

#[derive(Clone, Debug)]
enum EditOp {
    Remove,
    Truncate(usize),
    Replace(Value),
}

#[derive(Clone, Debug)]
struct Edit {
    path: Vec<Seg>,
    op: EditOp,
}

impl Edit {
    fn key(&self) -> String {
        let op = match &self.op {
            EditOp::Remove => "rm".to_string(),
            EditOp::Truncate(n) => format!("trunc{n}"),
            EditOp::Replace(v) => format!("set{v}"),
        };
        format!("{:?}/{op}", self.path)
    }

    fn apply(&self, root: &Value) -> Option<Value> {
        let mut out = root.clone();
        let (last, parents) = self.path.split_last()?;
        let mut cur = &mut out;
        for seg in parents {
            cur = match seg {
                Seg::Key(k) => cur.get_mut(k.as_str())?,
                Seg::Idx(i) => cur.get_mut(*i)?,
            };
        }
        match (&self.op, last) {
            (EditOp::Remove, Seg::Key(k)) => {
                cur.as_object_mut()?.shift_remove(k.as_str())?;
            }
            (EditOp::Truncate(n), seg) => {
                let target = match seg {
                    Seg::Key(k) => cur.get_mut(k.as_str())?,
                    Seg::Idx(i) => cur.get_mut(*i)?,
                };
                target.as_array_mut()?.truncate(*n);
            }
            (EditOp::Replace(v), seg) => {
                let target = match seg {
                    Seg::Key(k) => cur.get_mut(k.as_str())?,
                    Seg::Idx(i) => cur.get_mut(*i)?,
                };
                *target = v.clone();
            }
            _ => return None,
        }
        (out != *root).then_some(out)
    }
}

#[derive(Default)]
struct EditLists {
    remove: Vec<Edit>,
    truncate: Vec<Edit>,
    replace: Vec<Edit>,
}

fn collect_edits(v: &Value, node: &Node, path: &mut Vec<Seg>, out: &mut EditLists) {
    match (node, v) {
        (Node::Object(o), Value::Object(m)) => {
            for (k, child) in m {
                path.push(Seg::Key(k.clone()));
                match o.props.iter().find(|p| &p.name == k) {
                    Some(p) => {
                        if !p.required {
                            out.remove.push(Edit {
                                path: path.clone(),
                                op: EditOp::Remove,
                            });
                        }
                        collect_edits(child, &p.node, path, out);
                    }
                    None => out.remove.push(Edit {
                        path: path.clone(),
                        op: EditOp::Remove,
                    }),
                }
                path.pop();
            }
        }
        (Node::Array(a), Value::Array(items)) => {
            if items.len() > a.min && !path.is_empty() {
                out.truncate.push(Edit {
                    path: path.clone(),
                    op: EditOp::Truncate(a.min),
                });
                if items.len() / 2 > a.min {
                    out.truncate.push(Edit {
                        path: path.clone(),
                        op: EditOp::Truncate(items.len() / 2),
                    });
                }
            }
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Idx(i));
                collect_edits(item, &a.items, path, out);
                path.pop();
            }
        }
        (Node::Str(s), Value::String(x)) if s.is_free_text() && s.regex.is_none() => {
            let simplest = "a".repeat(s.min);
            if *x != simplest && !path.is_empty() {
                out.replace.push(Edit {
                    path: path.clone(),
                    op: EditOp::Replace(Value::String(simplest)),
                });
            }
        }
        (Node::Int(i), Value::Number(n)) if i.hint == Hint::Text => {
            let simplest = 0i64.clamp(i.min, i.max);
            if n.as_i64() != Some(simplest) && !path.is_empty() {
                out.replace.push(Edit {
                    path: path.clone(),
                    op: EditOp::Replace(simplest.into()),
                });
            }
        }
        (Node::Bool, Value::Bool(true)) if !path.is_empty() => {
            out.replace.push(Edit {
                path: path.clone(),
                op: EditOp::Replace(Value::Bool(false)),
            });
        }
        (Node::Union(branches, _), v) => {
            if !v.is_null() && node.accepts_null() && !path.is_empty() {
                out.replace.push(Edit {
                    path: path.clone(),
                    op: EditOp::Replace(Value::Null),
                });
            }
            if let Some(b) = branches.iter().find(|b| shape_matches(b, v)) {
                collect_edits(v, b, path, out);
            }
        }
        _ => {}
    }
}

/// A generated event that shrinks: each `simplify` removes an optional
/// property, shortens an array to a legal length, or simplifies a free-text
/// or plain leaf, so every form it passes through stays schema-valid.
pub struct EventTree {
    compiled: Arc<CompiledType>,
    current: Value,
    prev: Option<Value>,
    last_key: Option<String>,
    rejected: HashSet<String>,
    edits: Option<VecDeque<Edit>>,
}

impl fmt::Debug for EventTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventTree")
            .field("current", &self.current)
            .finish()
    }
}

impl EventTree {
    pub(crate) fn new(compiled: Arc<CompiledType>, value: Value) -> EventTree {
        EventTree {
            compiled,
            current: value,
            prev: None,
            last_key: None,
            rejected: HashSet::new(),
            edits: None,
        }
    }

    /// The current form, borrowed.
    pub fn value(&self) -> &Value {
        &self.current
    }

    fn advance(&mut self) -> bool {
        if self.edits.is_none() {
            let mut lists = EditLists::default();
            collect_edits(
                &self.current,
                &self.compiled.root,
                &mut Vec::new(),
                &mut lists,
            );
            let mut all = VecDeque::with_capacity(
                lists.remove.len() + lists.truncate.len() + lists.replace.len(),
            );
            all.extend(lists.remove);
            all.extend(lists.truncate);
            all.extend(lists.replace);
            self.edits = Some(all);
        }
        while let Some(edit) = self.edits.as_mut().and_then(VecDeque::pop_front) {
            let key = edit.key();
            if self.rejected.contains(&key) {
                continue;
            }
            if let Some(next) = edit.apply(&self.current) {
                self.prev = Some(std::mem::replace(&mut self.current, next));
                self.last_key = Some(key);
                return true;
            }
        }
        false
    }
}

impl ValueTree for EventTree {
    type Value = Value;

    fn current(&self) -> Value {
        self.current.clone()
    }

    fn simplify(&mut self) -> bool {
        if self.prev.take().is_some() {
            // The last simplification was kept (the check still failed):
            // recompute the possible edits on the smaller value.
            self.edits = None;
        }
        self.advance()
    }

    fn complicate(&mut self) -> bool {
        match self.prev.take() {
            None => false,
            Some(prev) => {
                self.current = prev;
                if let Some(key) = self.last_key.take() {
                    self.rejected.insert(key);
                }
                self.advance()
            }
        }
    }
}

/// Shrinks `tree` to the smallest form for which `still_fails` holds, in at
/// most `max_steps` checks; the tree's starting value is assumed failing.
pub fn shrink(
    tree: &mut EventTree,
    mut still_fails: impl FnMut(&Value) -> bool,
    max_steps: usize,
) -> Value {
    let mut best = tree.current.clone();
    let mut steps = 0;
    if !tree.simplify() {
        return best;
    }
    while steps < max_steps {
        steps += 1;
        if still_fails(&tree.current) {
            best = tree.current.clone();
            if !tree.simplify() {
                break;
            }
        } else if !tree.complicate() {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::tests::ty;
    use crate::strategy::Generator;
    use serde_json::json;

    #[test]
    fn shrink_finds_the_smallest_event_that_still_fails() {
        let t = ty(json!({
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "string", "x-gen": "uuid"},
                "name": {"type": "string", "x-presence": 1.0},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "extra": {"type": "object", "x-presence": 1.0, "properties": {"flag": {"type": "boolean", "x-presence": 1.0}}}
            }
        }));
        let mut g = Generator::new(3, 0);
        let mut tree = g.tree(&t);
        // The "bug": the receiver fails whenever `extra` is present.
        let smallest = shrink(&mut tree, |v| v.get("extra").is_some(), 1000);
        assert!(smallest.get("extra").is_some());
        assert!(smallest.get("name").is_none(), "{smallest}");
        assert!(smallest.get("tags").is_none(), "{smallest}");
        assert_eq!(
            smallest["extra"].as_object().map(|m| m.len()),
            Some(0),
            "{smallest}"
        );
        assert!(smallest.get("id").is_some());
    }
}
