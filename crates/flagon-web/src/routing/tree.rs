//! The routing tree: static children first, then converters by weight,
//! backtracking when a branch does not lead to a route.

use std::collections::HashMap;
use std::sync::Arc;

use super::converters::Converter;
use super::pattern::{Pattern, Segment};

/// Called with the routes a path leads to and the parameters (borrowed from
/// the path) on the way; returns true to stop the search.
pub(crate) type Visitor<'a> = dyn FnMut(&[usize], &[(Arc<str>, &str)]) -> bool + 'a;

/// Path parameters of a match, owned.
pub(crate) type Params = Vec<(Arc<str>, String)>;

#[derive(Default)]
pub(crate) struct Node {
    statics: HashMap<String, Node>,
    params: Vec<ParamEdge>,
    /// Indices of the routes whose pattern ends here.
    routes: Vec<usize>,
}

struct ParamEdge {
    name: Arc<str>,
    converter_name: String,
    converter: Arc<dyn Converter>,
    node: Node,
}

impl Node {
    /// Adds route `index` with `pattern`.
    pub(crate) fn insert(&mut self, pattern: &Pattern, index: usize) {
        let mut node = self;
        for segment in &pattern.segments {
            node = match segment {
                Segment::Static(text) => node.statics.entry(text.clone()).or_default(),
                Segment::Param {
                    name,
                    converter_name,
                    converter,
                } => {
                    let position = node.params.iter().position(|edge| {
                        edge.name == *name && edge.converter_name == *converter_name
                    });
                    let position = match position {
                        Some(position) => position,
                        None => {
                            node.params.push(ParamEdge {
                                name: name.clone(),
                                converter_name: converter_name.clone(),
                                converter: converter.clone(),
                                node: Node::default(),
                            });
                            // Stable sort: equal weights keep registration order.
                            node.params.sort_by_key(|edge| edge.converter.weight());
                            node.params
                                .iter()
                                .position(|edge| {
                                    edge.name == *name && edge.converter_name == *converter_name
                                })
                                .unwrap_or(0)
                        }
                    };
                    &mut node.params[position].node
                }
            };
        }
        node.routes.push(index);
    }

    /// Walks every route matching `segments` in priority order, calling
    /// `visit` with the routes ending there and the parameters (borrowed
    /// from the path); stops when `visit` returns true.
    pub(crate) fn search(&self, segments: &[&str], visit: &mut Visitor<'_>) -> bool {
        let view = PathView::new(segments);
        self.walk(&view, 0, &mut Vec::new(), visit)
    }

    fn walk<'v>(
        &self,
        view: &'v PathView<'_>,
        at: usize,
        params: &mut Vec<(Arc<str>, &'v str)>,
        visit: &mut Visitor<'_>,
    ) -> bool {
        if at == view.len() {
            return !self.routes.is_empty() && visit(&self.routes, params);
        }
        let first = view.part(at);
        if let Some(child) = self.statics.get(first) {
            if child.walk(view, at + 1, params, visit) {
                return true;
            }
        }
        for edge in &self.params {
            if edge.converter.spans_segments() {
                // Shortest first, so `/<path:p>/edit` leaves `edit` to the static.
                for end in at + 1..=view.len() {
                    let span = view.span(at, end);
                    if !edge.converter.matches(span) {
                        continue;
                    }
                    params.push((edge.name.clone(), span));
                    let found = edge.node.walk(view, end, params, visit);
                    params.pop();
                    if found {
                        return true;
                    }
                }
            } else if edge.converter.matches(first) {
                params.push((edge.name.clone(), first));
                let found = edge.node.walk(view, at + 1, params, visit);
                params.pop();
                if found {
                    return true;
                }
            }
        }
        false
    }
}

/// The decoded segments of a request path, with the joined form that
/// `path` converters match against built once, on first use, so matching
/// stays linear in the number of segments.
struct PathView<'a> {
    parts: &'a [&'a str],
    /// The segments joined by `/`, and where each one starts in it.
    joined: std::cell::OnceCell<(String, Vec<usize>)>,
}

impl<'a> PathView<'a> {
    fn new(parts: &'a [&'a str]) -> Self {
        PathView {
            parts,
            joined: std::cell::OnceCell::new(),
        }
    }

    fn len(&self) -> usize {
        self.parts.len()
    }

    fn part(&self, index: usize) -> &'a str {
        self.parts[index]
    }

    /// Segments `from..to` joined by `/`, without copying.
    fn span(&self, from: usize, to: usize) -> &str {
        let (joined, starts) = self.joined.get_or_init(|| {
            let mut starts = Vec::with_capacity(self.parts.len());
            let mut joined = String::new();
            for (index, part) in self.parts.iter().enumerate() {
                if index > 0 {
                    joined.push('/');
                }
                starts.push(joined.len());
                joined.push_str(part);
            }
            (joined, starts)
        });
        let end = match starts.get(to) {
            Some(next) => next - 1,
            None => joined.len(),
        };
        &joined[starts[from]..end]
    }
}

#[cfg(test)]
mod tests {
    use super::super::converters::ConverterRegistry;
    use super::*;

    fn tree(patterns: &[&str]) -> Node {
        let converters = ConverterRegistry::default();
        let mut root = Node::default();
        for (i, p) in patterns.iter().enumerate() {
            root.insert(&Pattern::parse(p, &converters).unwrap(), i);
        }
        root
    }

    fn first_match(root: &Node, path: &str) -> Option<(usize, Vec<(String, String)>)> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut found = None;
        root.search(&segments, &mut |routes, params| {
            found = Some((
                routes[0],
                params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ));
            true
        });
        found
    }

    #[test]
    fn static_beats_typed_beats_str() {
        let root = tree(&["/user/<name>", "/user/<int:id>", "/user/me"]);
        assert_eq!(first_match(&root, "/user/me").unwrap().0, 2);
        assert_eq!(first_match(&root, "/user/42").unwrap().0, 1);
        assert_eq!(first_match(&root, "/user/bob").unwrap().0, 0);
    }

    #[test]
    fn converter_mismatch_falls_through() {
        let root = tree(&["/item/<int:id>/edit", "/item/<slug>/view"]);
        let (route, params) = first_match(&root, "/item/12/view").unwrap();
        assert_eq!(route, 1);
        assert_eq!(params, vec![("slug".into(), "12".into())]);
        assert!(first_match(&root, "/item/abc/edit").is_none());
    }

    #[test]
    fn path_converter_spans_segments_and_backtracks() {
        let root = tree(&["/files/<path:p>", "/wiki/<path:page>/edit"]);
        let (_, params) = first_match(&root, "/files/a/b/c.txt").unwrap();
        assert_eq!(params[0].1, "a/b/c.txt");
        let (route, params) = first_match(&root, "/wiki/a/b/edit").unwrap();
        assert_eq!(route, 1);
        assert_eq!(params[0].1, "a/b");
        assert!(first_match(&root, "/files/").is_none());
    }

    #[test]
    fn spans_are_slices_of_one_joined_path() {
        let parts = ["a", "bb", "", "c"];
        let view = PathView::new(&parts);
        assert_eq!(view.span(0, 1), "a");
        assert_eq!(view.span(1, 4), "bb//c");
        assert_eq!(view.span(0, 4), "a/bb//c");
        // One buffer serves every span: matching a long path never re-joins it.
        assert_eq!(view.span(0, 2).as_ptr(), view.span(0, 4).as_ptr());
    }

    #[test]
    fn root_and_trailing_slash_are_distinct() {
        let root = tree(&["/", "/about/"]);
        assert_eq!(first_match(&root, "/").unwrap().0, 0);
        assert_eq!(first_match(&root, "/about/").unwrap().0, 1);
        assert!(first_match(&root, "/about").is_none());
    }
}
